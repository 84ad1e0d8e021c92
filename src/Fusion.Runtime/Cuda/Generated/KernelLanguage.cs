namespace Fusion.Cuda.Generated;

/// <summary>Which version of a generated kernel the CUDA backend runs: <c>FUSION_KERNELS=nvrtc|ilgpu</c>.</summary>
public enum KernelLanguage
{
    /// <summary>The CUDA C, compiled by NVRTC (the default).</summary>
    Nvrtc,

    /// <summary>
    /// The ILGPU C#, compiled to PTX by ILGPU and launched by Fusion's own driver path. Kernels without an ILGPU version (those
    /// lowered at run time for eager calls) and launches that need 64-bit indices still run the NVRTC kernel.
    /// </summary>
    Ilgpu,
}

/// <summary>Reading the language from the environment.</summary>
public static class KernelLanguages
{
    public const string Variable = "FUSION_KERNELS";

    /// <summary>$FUSION_KERNELS, nvrtc when unset or empty.</summary>
    public static KernelLanguage FromEnvironment() => Parse(Environment.GetEnvironmentVariable(Variable));

    /// <summary>nvrtc or ilgpu (any case; unset or blank means nvrtc); anything else is an error naming the choices.</summary>
    public static KernelLanguage Parse(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "nvrtc" => KernelLanguage.Nvrtc,
        "ilgpu" => KernelLanguage.Ilgpu,
        _ => throw new FusionException($"{Variable}={value} is not one of nvrtc, ilgpu"),
    };
}
