namespace Fusion.Cuda.Gemm;

/// <summary>Which implementation a fused GEMM runs.</summary>
public enum GemmPath
{
    /// <summary>The model's generated <c>gemm_bias_act</c> kernel (epilogue fused, one store).</summary>
    Generated,

    /// <summary>cuBLASLt with its BIAS/RELU_BIAS/GELU_BIAS epilogue (GELU is its tanh form), a residual as C with beta = 1.</summary>
    CublasLt,
}

/// <summary>How <see cref="FusedGemm"/> picks a <see cref="GemmPath"/>: <c>FUSION_GEMM=generated|cublaslt|fastrun</c>.</summary>
public enum GemmPolicy
{
    /// <summary>Time both paths once per shape and epilogue, then keep the faster (remembered on disk).</summary>
    FastRun,

    /// <summary>Always the generated kernel.</summary>
    Generated,

    /// <summary>Always cuBLASLt.</summary>
    CublasLt,
}

/// <summary>Reading the policy from the environment.</summary>
public static class GemmPolicies
{
    public const string Variable = "FUSION_GEMM";

    /// <summary>$FUSION_GEMM, fastrun when unset or empty.</summary>
    public static GemmPolicy FromEnvironment() => Parse(Environment.GetEnvironmentVariable(Variable));

    /// <summary>generated, cublaslt or fastrun (any case; unset or blank means fastrun); anything else is an error naming the choices.</summary>
    public static GemmPolicy Parse(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "fastrun" => GemmPolicy.FastRun,
        "generated" => GemmPolicy.Generated,
        "cublaslt" => GemmPolicy.CublasLt,
        _ => throw new FusionException($"{Variable}={value} is not one of generated, cublaslt, fastrun"),
    };
}
