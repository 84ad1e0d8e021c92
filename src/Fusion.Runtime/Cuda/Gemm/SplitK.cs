namespace Fusion.Cuda.Gemm;

/// <summary>
/// Whether fast-run offers the template's split-K tiles (<see cref="GemmTile.SplitTiles"/>, thread-block clusters on compute
/// capability 9.0): off unless <c>FUSION_GEMM_SPLITK=on</c>. Off by default because measured they do not pay: correct on the GPU
/// (every tile against the CPU, memcheck clean), but launched alone no split tile beats cuBLASLt on any Swin-T shape, and offered to
/// fast-run they took 4 µs (1 %) off Swin-T at batch 1 and nothing at 8 or 64, for up to six more tiles timed a GEMM (docs/perf.md,
/// "Split-K measured"). The fast-run key says which way it was, so decisions made one way are not reused the other.
/// </summary>
public static class SplitK
{
    public const string Variable = "FUSION_GEMM_SPLITK";

    private static bool? s_enabled;

    /// <summary>$FUSION_GEMM_SPLITK, read once: off unless it says on (a value that is neither is an error naming the choices).</summary>
    public static bool Enabled => s_enabled ??= Parse(Environment.GetEnvironmentVariable(Variable));

    /// <summary>on, 1, off or 0 (any case; unset or blank means off); anything else is an error naming the choices.</summary>
    public static bool Parse(string? value) => OnOffSwitch.Parse(Variable, value);
}
