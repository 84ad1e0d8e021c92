using System.Globalization;

namespace Fusion.Cuda.Gemm;

/// <summary>
/// A tile of the <c>gemm</c> template: <see cref="Rows"/> × <see cref="Columns"/> of out per block (the template's
/// FUSION_BM × FUSION_BN). Three families (gemm.cut says why): <em>thin</em> tiles (32, 64 or 96 columns) give one warp
/// 16 rows and every column, in two stages; the default is 128 rows and a column tile fitted to N (<see cref="DefaultColumns"/>),
/// smaller tiles give small m or N more blocks to spread over the SMs. <em>Wide</em> tiles (128 × 128 and 256 × 64 with 4 warps,
/// 256 × 128 and 128 × 256 with 8) give each warp 64 × 64 of out, in three stages of dynamic shared memory: for GEMMs bound by the
/// tensor cores. <em>Hopper</em> tiles (<see cref="Wgmma"/>: 128 × 64, 128 × 128 and 128 × 256, two warpgroups) multiply with warpgroup MMA
/// from 128-byte-swizzled shared memory in four stages; their code is sm_90a's, so they run on compute capability 9.0 only.
/// </summary>
public readonly record struct GemmTile(int Rows, int Columns, bool Wgmma = false)
{
    /// <summary>The template's default tile for width <paramref name="n"/>.</summary>
    public static GemmTile Default(int n) => new(128, DefaultColumns(n));

    /// <summary>The template's default column tile for width <paramref name="n"/>: 96 divides the Swin widths, 64 or 32 for narrow layers.</summary>
    public static int DefaultColumns(int n) => Compiler.GemmRows.DefaultColumns(n);

    /// <summary>The wide tiles, in the order fast-run times them.</summary>
    public static IReadOnlyList<GemmTile> WideTiles { get; } = [new(128, 128), new(256, 128), new(128, 256), new(256, 64)];

    /// <summary>The Hopper tiles (warpgroup MMA), in the order fast-run times them.</summary>
    public static IReadOnlyList<GemmTile> HopperTiles { get; } = [new(128, 256, Wgmma: true), new(128, 128, Wgmma: true), new(128, 64, Wgmma: true)];

    /// <summary>The architecture the Hopper tiles are compiled for: sm_90a, whose wgmma runs on compute capability 9.0 only.</summary>
    public const string HopperArchitecture = "sm_90a";

    /// <summary>
    /// Whether the Hopper tiles can run <paramref name="kernel"/> on a device of compute capability <paramref name="computeCapability"/>:
    /// 9.0 (sm_90a code runs there only), and x read by 16-byte chunks (a convolution's image, or K a multiple of 8 halves or 16 int8).
    /// </summary>
    public static bool HopperRuns(GemmKernel kernel, int computeCapability) =>
        computeCapability == 90 && !kernel.Fp8 && (kernel.Conv is not null || kernel.K % (kernel.Int8 ? 16 : 8) == 0);

    /// <summary>
    /// The tiles fast-run times for width <paramref name="n"/>, the default first: 128, 64 and 32 rows with the default columns, 32
    /// columns at 64 rows; then the wide tiles no wider than N (none below 64); then, with <paramref name="hopper"/>
    /// (<see cref="HopperRuns"/>), the Hopper tiles no wider than N.
    /// </summary>
    public static IReadOnlyList<GemmTile> Candidates(int n, bool hopper = false)
    {
        int columns = DefaultColumns(n);
        var tiles = new List<GemmTile> { new(128, columns), new(64, columns), new(32, columns), new(64, 32) };
        tiles.AddRange(WideTiles.Where(t => t.Columns <= n));
        if (hopper) tiles.AddRange(HopperTiles.Where(t => t.Columns <= n));
        return tiles.Distinct().ToList();
    }

    /// <summary>Whether this is a wide tile (warps in a grid, 64 × 64 each, three stages) rather than a thin one (a warp per 16 rows) or a Hopper one.</summary>
    public bool Wide => !Wgmma && (Columns >= 128 || Rows == 256);

    /// <summary>Rows of out per warp: 16 (thin, Hopper: a warpgroup's 64 rows are its 4 warps' 16) or 64 (wide).</summary>
    public int WarpRows => Wide ? 64 : 16;

    /// <summary>Columns of out per warp: all of them (thin, Hopper) or 64 (wide).</summary>
    public int WarpColumns => Wide ? 64 : Columns;

    /// <summary>Shared-memory stages of the main loop: 2 (thin), 3 (wide) or 4 (Hopper).</summary>
    public int Stages => Wgmma ? 4 : Wide ? 3 : 2;

    /// <summary>Threads per block: a warp per warp tile (thin, Hopper: per 16 rows; wide: per 64 × 64).</summary>
    public int Threads => Rows / WarpRows * (Columns / WarpColumns) * 32;

    /// <summary>
    /// Dynamic shared memory a launch asks for: the wide tiles' stages, (rows + columns) rows of 80 bytes each; the Hopper tiles',
    /// rows of 128 bytes, and 1024 bytes to start them on the swizzle's period; 0 for thin tiles, whose stages are static.
    /// </summary>
    public int DynamicSharedBytes => Wgmma ? Stages * (Rows + Columns) * 128 + 1024 : Wide ? Stages * (Rows + Columns) * 80 : 0;

    public bool IsDefaultFor(int n) => this == Default(n);

    /// <summary>Blocks that cover an m × n output.</summary>
    public long Blocks(int m, int n) => (long)((m + Rows - 1) / Rows) * ((n + Columns - 1) / Columns);

    /// <summary>The kernel source with this tile defined in front of the template text (the default tile leaves it unchanged).</summary>
    public string Specialize(string source, int n)
    {
        if (IsDefaultFor(n)) return source;
        const string anchor = "#define FUSION_KERNEL ";
        int at = source.IndexOf(anchor, StringComparison.Ordinal);
        if (at < 0) throw new FusionException("gemm source has no '#define FUSION_KERNEL' line to put a tile in front of");
        var defines = string.Create(CultureInfo.InvariantCulture, $"#define FUSION_BM {Rows}\n#define FUSION_BN {Columns}\n");
        if (Wide || Wgmma)
            defines += string.Create(CultureInfo.InvariantCulture,
                $"#define FUSION_WARP_ROWS {WarpRows}\n#define FUSION_WARP_COLS {WarpColumns}\n#define FUSION_STAGES {Stages}\n#define FUSION_GEMM_DYNAMIC_SMEM 1\n");
        if (Wgmma) defines += "#define FUSION_GEMM_WGMMA 1\n";
        return source.Insert(at, defines);
    }

    /// <summary>"128x96"; a Hopper tile "128x256h".</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Rows}x{Columns}{(Wgmma ? "h" : "")}");

    /// <summary>Reads "128x96" (a tile the template takes: a thin one or a wide one) or "128x256h" (a Hopper one); null otherwise.</summary>
    public static GemmTile? TryParse(string text)
    {
        if (text.EndsWith('h'))
            return TryParse(text[..^1]) is { } plain && HopperTiles.Contains(plain with { Wgmma = true }) ? plain with { Wgmma = true } : null;
        var parts = text.Split('x');
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int rows)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int columns))
            return null;
        var tile = new GemmTile(rows, columns);
        if (tile.Wide) return WideTiles.Contains(tile) ? tile : null;
        if (rows is not (32 or 64 or 128) || columns is not (32 or 64 or 96)) return null;
        return tile;
    }
}
