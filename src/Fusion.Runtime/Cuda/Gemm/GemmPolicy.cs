namespace Fusion.Cuda.Gemm;

/// <summary>Which implementation a fused GEMM runs.</summary>
public enum GemmPath
{
    /// <summary>The <c>gemm</c> template with the layer's generated epilogue printed in (one store).</summary>
    Generated,

    /// <summary>cuBLASLt with its BIAS/RELU_BIAS/GELU_BIAS epilogue (GELU is its tanh form), a residual as C with beta = 1.</summary>
    CublasLt,
}

/// <summary>How <see cref="FusedGemm"/> picks a <see cref="GemmPath"/>: <c>FUSION_GEMM=fastrun|generated|cublaslt|cached</c>.</summary>
public enum GemmPolicy
{
    /// <summary>Time cuBLASLt and the generated kernel's tiles once per shape and epilogue, then keep the fastest (remembered on disk).</summary>
    FastRun,

    /// <summary>Always the generated kernel, with its default tile.</summary>
    Generated,

    /// <summary>Always cuBLASLt.</summary>
    CublasLt,

    /// <summary>A fast-run decision remembered earlier (in memory or on disk) where there is one, else cuBLASLt; measures nothing.</summary>
    Cached,
}

/// <summary>Reading the policy from the environment.</summary>
public static class GemmPolicies
{
    public const string Variable = "FUSION_GEMM";

    /// <summary>$FUSION_GEMM, fastrun when unset or empty.</summary>
    public static GemmPolicy FromEnvironment() => Parse(Environment.GetEnvironmentVariable(Variable));

    /// <summary>generated, cublaslt, cached or fastrun (any case; unset or blank means fastrun); anything else is an error naming the choices.</summary>
    public static GemmPolicy Parse(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "fastrun" => GemmPolicy.FastRun,
        "generated" => GemmPolicy.Generated,
        "cublaslt" => GemmPolicy.CublasLt,
        "cached" => GemmPolicy.Cached,
        _ => throw new FusionException($"{Variable}={value} is not one of generated, cublaslt, cached, fastrun"),
    };
}
