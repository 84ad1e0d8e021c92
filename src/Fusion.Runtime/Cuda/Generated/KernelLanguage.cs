namespace Fusion.Cuda.Generated;

/// <summary>Which version of a generated kernel the CUDA backend runs: <c>FUSION_KERNELS=nvrtc|ilgpu|auto</c>.</summary>
public enum KernelLanguage
{
    /// <summary>The CUDA C, compiled by NVRTC (the default).</summary>
    Nvrtc,

    /// <summary>
    /// The ILGPU C#, compiled to PTX by ILGPU and launched by Fusion's own driver path. Kernels without an ILGPU version (those
    /// lowered at run time for eager calls) and launches that need 64-bit indices still run the NVRTC kernel.
    /// </summary>
    Ilgpu,

    /// <summary>
    /// Fast-run: the first launch of each kernel, io type and batch times both versions on this GPU and remembers the faster
    /// (<see cref="KernelLanguageChoices"/>, in the kernel cache folder); a kernel ILGPU cannot compile runs its NVRTC version,
    /// with a warning.
    /// </summary>
    Auto,
}

/// <summary>Reading the language from the environment.</summary>
public static class KernelLanguages
{
    public const string Variable = "FUSION_KERNELS";

    /// <summary>$FUSION_KERNELS, nvrtc when unset or empty.</summary>
    public static KernelLanguage FromEnvironment() => Parse(Environment.GetEnvironmentVariable(Variable));

    /// <summary>nvrtc, ilgpu or auto (any case; unset or blank means nvrtc); anything else is an error naming the choices.</summary>
    public static KernelLanguage Parse(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "nvrtc" => KernelLanguage.Nvrtc,
        "ilgpu" => KernelLanguage.Ilgpu,
        "auto" => KernelLanguage.Auto,
        _ => throw new FusionException($"{Variable}={value} is not one of nvrtc, ilgpu, auto"),
    };

    /// <summary>The name the variable takes.</summary>
    public static string Name(KernelLanguage language) => language.ToString().ToLowerInvariant();
}
