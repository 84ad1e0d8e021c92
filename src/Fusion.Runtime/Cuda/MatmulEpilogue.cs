namespace Fusion.Cuda;

/// <summary>What cuBLASLt applies to the product before storing it (values are cublasLtEpilogue_t).</summary>
public enum MatmulEpilogue
{
    /// <summary>D = A·B.</summary>
    None = 1,

    /// <summary>D = A·B + bias (bias broadcast along rows).</summary>
    Bias = 4,

    /// <summary>D = relu(A·B + bias).</summary>
    ReluBias = 6,

    /// <summary>D = gelu(A·B + bias), cuBLASLt's tanh approximation of GELU.</summary>
    GeluBias = 36,
}
