namespace Fusion.Cuda.Gemm;

/// <summary>
/// Whether the GEMM template reads its staged accumulators back four columns a lane where the printed epilogue offers it
/// (<c>FUSION_EPILOGUE_QUADS</c>: N a multiple of 4, every access moving in fours), or a column pair a lane as before:
/// <c>FUSION_GEMM_QUADS</c>, on or off (<see cref="DefaultOn"/> when unset). Off, the launcher compiles the template with
/// <c>FUSION_GEMM_PAIRS</c> defined. The results are the same either way (the same chain at every element); what changes is that a
/// warp store covers 4 rows × 32 columns instead of 2 × 32 (an int8 row's 32 codes one 4-byte store a lane). The fast-run key says
/// which way it was.
/// </summary>
public static class EpilogueQuads
{
    public const string Variable = "FUSION_GEMM_QUADS";

    /// <summary>
    /// What unset means: on. Swin-T int8 at batch 64 on an H100 (2026-12-07, alternating, two rounds): 2.939 / 2.936 ms with column
    /// pairs, 2.537 / 2.535 ms with four columns a lane (docs/perf.md).
    /// </summary>
    public const bool DefaultOn = true;

    private static bool? s_enabled;

    /// <summary>$FUSION_GEMM_QUADS, read once.</summary>
    public static bool Enabled => s_enabled ??= Parse(Environment.GetEnvironmentVariable(Variable));

    /// <summary>on, 1, off or 0 (any case; unset or blank means <see cref="DefaultOn"/>); anything else is an error naming the choices.</summary>
    public static bool Parse(string? value) => OnOffSwitch.Parse(Variable, value, DefaultOn);

    /// <summary>The template source as the switch wants it: unchanged when on, with FUSION_GEMM_PAIRS defined in front when off.</summary>
    public static string Apply(string source, bool enabled) =>
        enabled ? source : GemmTile.InsertDefines(source, "#define FUSION_GEMM_PAIRS 1\n", "FUSION_GEMM_PAIRS");
}
