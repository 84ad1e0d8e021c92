namespace Fusion.Cuda;

/// <summary>
/// Programmatic dependent launch (Hopper and newer, CUDA 12.3+ drivers, also inside a captured graph): a kernel launched with
/// programmatic stream serialization may be scheduled before the kernel ahead of it in the stream has finished, so its launch and
/// block start-up overlap that kernel's tail instead of following its end. It is safe only for a kernel that waits for the
/// previous grid's memory before it touches any (griddepcontrol.wait): Fusion's printed kernels and templates begin with
/// FUSION_AWAIT_PREVIOUS_GRID() (prelude.cuh), and a module whose source makes that call is marked
/// (<see cref="CudaModule.AwaitsPreviousGrid"/>). <see cref="CudaKernel.Launch"/> uses it only right behind another kernel it
/// launched itself (a wait cannot cover a copy, a memset, an event or a library's kernels it does not know). Batch-1 inference
/// is a chain of ~100 kernels of a few microseconds each, where those boundaries are a large part of the time.
/// <c>FUSION_PDL=on</c> turns it on. Off by default: timed on an H100 (2026-12-05, docs/perf.md) it saved 0.26 µs a boundary
/// between two of Fusion's kernels but changed Swin-T by less than 0.001 ms at batch 1, 8 and 64, where almost every generated
/// kernel sits between two cuBLASLt calls.
/// </summary>
public static class ProgrammaticLaunch
{
    public const string Variable = "FUSION_PDL";

    /// <summary>The call a kernel's source makes first to be launched programmatically (defined in prelude.cuh).</summary>
    public const string Marker = "FUSION_AWAIT_PREVIOUS_GRID()";

    private static bool? s_enabled, s_forced;

    /// <summary>$FUSION_PDL, read once: off unless it says on (a value that is neither is an error at the first launch).</summary>
    public static bool Enabled => s_forced ?? (s_enabled ??= Parse(Environment.GetEnvironmentVariable(Variable)));

    /// <summary>on, 1, off or 0 (any case; unset or blank means off); anything else is an error naming the choices.</summary>
    public static bool Parse(string? value) => OnOffSwitch.Parse(Variable, value);

    /// <summary>
    /// Turns it on or off for this process, whatever $FUSION_PDL says, until the result is disposed (the GPU tests, which run one at
    /// a time, check both ways of launching).
    /// </summary>
    internal static IDisposable Force(bool enabled)
    {
        var before = s_forced;
        s_forced = enabled;
        return new Restore(() => s_forced = before);
    }

    private sealed class Restore(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }

    /// <summary>Whether <paramref name="source"/> declares that its kernels wait for the previous grid first.</summary>
    public static bool IsDeclaredBy(string source) => source.Contains(Marker, StringComparison.Ordinal);

    /// <summary>
    /// Whether launches on <paramref name="device"/> may be programmatic: enabled, compute capability 9.0 or newer, and a driver of
    /// CUDA 12.3 or newer (older ones cannot capture such launches into a graph).
    /// </summary>
    public static bool AppliesTo(CudaDevice device) => device.ComputeCapabilityMajor >= 9 && Enabled && DriverVersion >= MinimumDriver;

    private const int MinimumDriver = 12030;
    private static int? s_driverVersion;

    private static int DriverVersion => s_driverVersion ??=
        Native.CuDriverApi.cuDriverGetVersion(out int version) == Native.CuResult.Success ? version : 0;
}
