namespace Fusion.Cuda.Gemm;

/// <summary>
/// Whether fast-run offers the template's split-K tiles (<see cref="GemmTile.SplitTiles"/>, thread-block clusters on compute
/// capability 9.0): off unless <c>FUSION_GEMM_SPLITK=on</c>. Off by default because they were built in a session that had no GPU:
/// they compile to PTX in CI and their GPU tests exist (the split tiles among every tile, against the CPU), but neither those tests
/// nor a timing has run yet (docs/perf.md, "Split-K GEMM tiles over thread-block clusters: built, not yet run on a GPU"). The fast-run key says which way it was, so decisions
/// made one way are not reused the other.
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
