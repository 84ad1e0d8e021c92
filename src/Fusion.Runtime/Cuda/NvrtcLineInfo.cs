namespace Fusion.Cuda;

/// <summary>
/// Whether NVRTC compiles every kernel with <c>-lineinfo</c>: <c>FUSION_NVRTC_LINEINFO</c>, on or off (off when unset). With it
/// compute-sanitizer and Nsight Compute name the source line of a report (the kernel's CUDA C as Fusion generated it) instead of a
/// SASS offset; the option is part of every kernel's cache key, so such binaries never mix with the plain ones. For debugging and
/// profiling sessions, not for timing against builds compiled without it.
/// </summary>
public static class NvrtcLineInfo
{
    public const string Variable = "FUSION_NVRTC_LINEINFO";

    /// <summary>The NVRTC option it adds.</summary>
    public const string Option = "-lineinfo";

    private static bool? s_enabled;

    /// <summary>$FUSION_NVRTC_LINEINFO, read once.</summary>
    public static bool Enabled => s_enabled ??= Parse(Environment.GetEnvironmentVariable(Variable));

    /// <summary>on, 1, off or 0 (any case; unset or blank means off); anything else is an error naming the choices.</summary>
    public static bool Parse(string? value) => OnOffSwitch.Parse(Variable, value);

    /// <summary><paramref name="options"/> as the switch wants them: unchanged when off, with <see cref="Option"/> added when on.</summary>
    public static IReadOnlyList<string> Apply(IReadOnlyList<string> options, bool enabled) => enabled ? [.. options, Option] : options;
}
