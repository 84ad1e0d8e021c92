namespace Fusion.Cuda.Generated;

/// <summary>
/// The variant of a kernel source with buffers of the run's input/output type: one compilation per type, told apart by
/// FUSION_IO_HALF and by a cache-name suffix. One rule for generated kernels, GEMM templates and attention templates.
/// </summary>
internal static class IoVariant
{
    /// <summary>The cache-name suffix ("_io16", "_io32", or "" when the kernel has no io buffers) and the compiler options.</summary>
    public static (string Suffix, string[] Options) Of(bool usesIoType, bool ioHalf) => usesIoType
        ? (ioHalf ? "_io16" : "_io32", [$"-DFUSION_IO_HALF={(ioHalf ? 1 : 0)}"])
        : ("", []);
}
