namespace Fusion;

/// <summary>How a compiled model computes.</summary>
public enum Precision
{
    /// <summary>Every activation and parameter in float32.</summary>
    Float,

    /// <summary>
    /// Mixed precision: fp16 storage and fp16 (tensor-core) kernels for the operators that support it, with float32
    /// accumulation in GEMMs, attention and reductions; operators on the model's keep-list stay float32. The
    /// generated file's precision report lists each operator's precision and each cast.
    /// </summary>
    Half,
}
