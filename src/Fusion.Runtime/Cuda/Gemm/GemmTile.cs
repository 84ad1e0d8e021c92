using System.Globalization;

namespace Fusion.Cuda.Gemm;

/// <summary>
/// A tile of the <c>gemm</c> template: <see cref="Rows"/> × <see cref="Columns"/> of out per block (the template's
/// FUSION_BM × FUSION_BN). Three families (gemm.cut says why): <em>thin</em> tiles (32, 64 or 96 columns) give one warp
/// 16 rows and every column, in two stages; the default is 128 rows and a column tile fitted to N (<see cref="DefaultColumns"/>),
/// smaller tiles give small m or N more blocks to spread over the SMs. <em>Wide</em> tiles (128 × 128 and 256 × 64 with 4 warps,
/// 256 × 128 and 128 × 256 with 8) give each warp 64 × 64 of out, in three stages of dynamic shared memory: for GEMMs bound by the
/// tensor cores. <em>Hopper</em> tiles (<see cref="Wgmma"/>: 128 × 64, 128 × 128 and 128 × 256, two warpgroups) multiply with warpgroup MMA
/// from 128-byte-swizzled shared memory in four stages; their code is sm_90a's, so they run on compute capability 9.0 only. <em>Hopper TMA</em>
/// tiles (<see cref="Tma"/>, the same three shapes) add a producer warpgroup that fills four to eight stages through the copy engine
/// (tensor maps the launcher encodes for x and w), and run persistent: at most one block per SM walks the tiles. <em>Ping-pong</em> TMA tiles
/// (<see cref="Pingpong"/>: 128 × 128 and 128 × 64) give each multiplying warpgroup every other tile whole, so one's epilogue overlaps the
/// other's products. <em>Split-K</em> thin tiles (<see cref="Splits"/> 2, 4 or 8; <see cref="SplitTiles"/>) run as thread-block clusters of that
/// many blocks on compute capability 9.0, each block multiplying its share of K and the partial sums added in the epilogue through
/// distributed shared memory: for small m, where a tile's k-steps are a chain of copy latencies.
/// </summary>
public readonly record struct GemmTile(int Rows, int Columns, bool Wgmma = false, bool Tma = false, bool Pingpong = false, int Splits = 1)
{
    /// <summary>The template's default tile for width <paramref name="n"/>.</summary>
    public static GemmTile Default(int n) => new(128, DefaultColumns(n));

    /// <summary>The template's default column tile for width <paramref name="n"/>: 96 divides the Swin widths, 64 or 32 for narrow layers.</summary>
    public static int DefaultColumns(int n) => Compiler.GemmRows.DefaultColumns(n);

    /// <summary>The wide tiles, in the order fast-run times them.</summary>
    public static IReadOnlyList<GemmTile> WideTiles { get; } = [new(128, 128), new(256, 128), new(128, 256), new(256, 64)];

    /// <summary>The Hopper tiles (warpgroup MMA), in the order fast-run times them.</summary>
    public static IReadOnlyList<GemmTile> HopperTiles { get; } = [new(128, 256, Wgmma: true), new(128, 128, Wgmma: true), new(128, 64, Wgmma: true)];

    /// <summary>The Hopper TMA tiles, in the order fast-run times them.</summary>
    public static IReadOnlyList<GemmTile> HopperTmaTiles { get; } = [new(128, 256, Wgmma: true, Tma: true), new(128, 128, Wgmma: true, Tma: true), new(128, 64, Wgmma: true, Tma: true)];

    /// <summary>The ping-pong Hopper TMA tiles (a warpgroup a tile, so at most 128 columns of accumulators), in the order fast-run times them.</summary>
    public static IReadOnlyList<GemmTile> HopperPingpongTiles { get; } = [new(128, 128, Wgmma: true, Tma: true, Pingpong: true), new(128, 64, Wgmma: true, Tma: true, Pingpong: true)];

    /// <summary>The architecture the Hopper tiles are compiled for: sm_90a, whose wgmma runs on compute capability 9.0 only.</summary>
    public const string HopperArchitecture = "sm_90a";

    /// <summary>
    /// Whether the Hopper tiles can run <paramref name="kernel"/> on a device of compute capability <paramref name="computeCapability"/>:
    /// 9.0 (sm_90a code runs there only), and x read by 16-byte chunks (a convolution's image, or K a multiple of 8 halves or 16 int8).
    /// </summary>
    public static bool HopperRuns(GemmKernel kernel, int computeCapability) =>
        computeCapability == 90 && !kernel.Fp8 && (kernel.Conv is not null || kernel.K % (kernel.Int8 ? 16 : 8) == 0);

    /// <summary>
    /// Whether the Hopper TMA tiles can run <paramref name="kernel"/>: as <see cref="HopperRuns"/>, and x a stored [m, K] matrix the copy
    /// engine can address (rows a multiple of 16 bytes): a Linear's input, or a 1 × 1, stride-1, unpadded convolution's channels-last image.
    /// </summary>
    public static bool TmaRuns(GemmKernel kernel, int computeCapability) =>
        HopperRuns(kernel, computeCapability) && (kernel.Conv is null || kernel.Conv is { Kernel: 1, Stride: 1, Padding: 0 });

    /// <summary>Whether split-K tiles can run <paramref name="kernel"/>: thread-block clusters and distributed shared memory need compute capability 9.0 or newer.</summary>
    public static bool SplitRuns(GemmKernel kernel, int computeCapability) => computeCapability >= 90 && !kernel.Fp8;

    /// <summary>Whether this tile can run <paramref name="kernel"/> on compute capability <paramref name="computeCapability"/> (the Hopper and split-K families' conditions; the others run anywhere).</summary>
    public bool Runs(GemmKernel kernel, int computeCapability) =>
        Tma ? TmaRuns(kernel, computeCapability) : Wgmma ? HopperRuns(kernel, computeCapability)
        : Splits == 1 || (SplitRuns(kernel, computeCapability) && Splits <= KSteps(kernel));

    /// <summary>The thin tiles' k-steps over <paramref name="kernel"/>'s K: 64 bytes each (32 halves, 64 int8).</summary>
    public static int KSteps(GemmKernel kernel) => (kernel.K * (kernel.Int8 ? 1 : 2) + 63) / 64;

    /// <summary>
    /// The split-K tiles fast-run times for <paramref name="kernel"/>: 32 and 64 rows with the default columns, clusters of 2, 4 and 8
    /// blocks, each block at least one k-step (<see cref="KSteps"/>).
    /// </summary>
    public static IReadOnlyList<GemmTile> SplitTiles(GemmKernel kernel)
    {
        int columns = DefaultColumns(kernel.N), steps = KSteps(kernel);
        return [.. from rows in new[] { 32, 64 } from splits in new[] { 2, 4, 8 } where splits <= steps select new GemmTile(rows, columns, Splits: splits)];
    }

    /// <summary>
    /// The tiles fast-run times for width <paramref name="n"/>, the default first: 128, 64 and 32 rows with the default columns, 32
    /// columns at 64 rows; then the wide tiles no wider than N (none below 64); then, with <paramref name="hopper"/>
    /// (<see cref="HopperRuns"/>), the Hopper tiles no wider than N; with <paramref name="tma"/> (<see cref="TmaRuns"/>), the Hopper TMA tiles
    /// and ping-pong tiles no wider than N.
    /// </summary>
    public static IReadOnlyList<GemmTile> Candidates(int n, bool hopper = false, bool tma = false)
    {
        int columns = DefaultColumns(n);
        var tiles = new List<GemmTile> { new(128, columns), new(64, columns), new(32, columns), new(64, 32) };
        tiles.AddRange(WideTiles.Where(t => t.Columns <= n));
        if (hopper) tiles.AddRange(HopperTiles.Where(t => t.Columns <= n));
        if (tma) tiles.AddRange(HopperTmaTiles.Concat(HopperPingpongTiles).Where(t => t.Columns <= n));
        return tiles.Distinct().ToList();
    }

    /// <summary>The tiles fast-run times for <paramref name="kernel"/> on compute capability <paramref name="computeCapability"/>: <see cref="Candidates"/> with the Hopper families where they run.</summary>
    /// <remarks>The split-K tiles (<see cref="SplitTiles"/>) come last, where they run and <paramref name="splitK"/> (default: <see cref="SplitK.Enabled"/>) asks for them.</remarks>
    public static IReadOnlyList<GemmTile> CandidatesFor(GemmKernel kernel, int computeCapability, bool? splitK = null) =>
        [.. Candidates(kernel.N, HopperRuns(kernel, computeCapability), TmaRuns(kernel, computeCapability)),
            .. (splitK ?? SplitK.Enabled) && SplitRuns(kernel, computeCapability) ? SplitTiles(kernel) : []];

    /// <summary>Whether this is a wide tile (warps in a grid, 64 × 64 each, three stages) rather than a thin one (a warp per 16 rows) or a Hopper one.</summary>
    public bool Wide => !Wgmma && Splits == 1 && (Columns >= 128 || Rows == 256);

    /// <summary>Rows of out per warp: 16 (thin, Hopper: a warpgroup's 64 rows are its 4 warps' 16) or 64 (wide).</summary>
    public int WarpRows => Wide ? 64 : 16;

    /// <summary>Columns of out per warp: all of them (thin, Hopper) or 64 (wide).</summary>
    public int WarpColumns => Wide ? 64 : Columns;

    /// <summary>
    /// Shared-memory stages of the main loop: 2 (thin), 3 (wide), 4 (Hopper), and as many as 192 KB hold in the Hopper TMA family
    /// (128 × 256: 4, 128 × 128: 6, 128 × 64: 8; six stages of 128 × 128 measured 372 TFLOP/s on ResNet-50's stage 3 in the probe);
    /// split-K tiles as many as the 48 KB of static shared memory hold, up to 4 (their few k-steps are all loads in flight at once).
    /// </summary>
    public int Stages => Tma ? 196608 / ((Rows + Columns) * 128) : Wgmma ? 4 : Wide ? 3 : Splits > 1 ? Math.Min(4, 48 * 1024 / ((Rows + Columns) * TileRowBytes)) : 2;

    /// <summary>A shared-memory row of the thin and wide families' stages: a 64-byte k-step padded to 80 bytes (gemm.cut's kTileRowBytes).</summary>
    private const int TileRowBytes = 80;

    /// <summary>Threads per block: a warp per warp tile (thin, Hopper: per 16 rows; wide: per 64 × 64), and the TMA family's producer warpgroup.</summary>
    public int Threads => Rows / WarpRows * (Columns / WarpColumns) * 32 + (Tma ? 128 : 0);

    /// <summary>Bytes of the TMA family's epilogue staging: 8 multiplying warps × 16 rows × 40 floats (gemm.cut's kEpiBytes).</summary>
    private const int TmaEpilogueBytes = 8 * 16 * 40 * 4;

    /// <summary>
    /// Dynamic shared memory a launch asks for: the wide tiles' stages, (rows + columns) rows of 80 bytes each; the Hopper tiles',
    /// rows of 128 bytes, and 1024 bytes to start them on the swizzle's period (the TMA family: also two mbarriers a stage, two for the
    /// ping-pong turns and the epilogue's staging); 0 for thin tiles, whose stages are static.
    /// </summary>
    public int DynamicSharedBytes => Tma ? Stages * (Rows + Columns) * 128 + 1024 + 16 * Stages + 16 + TmaEpilogueBytes
        : Wgmma ? Stages * (Rows + Columns) * 128 + 1024 : Wide ? Stages * (Rows + Columns) * TileRowBytes : 0;

    public bool IsDefaultFor(int n) => this == Default(n);

    /// <summary>Blocks that cover an m × n output: one per tile.</summary>
    public long Blocks(int m, int n) => (long)((m + Rows - 1) / Rows) * ((n + Columns - 1) / Columns);

    /// <summary>Blocks a launch starts along x: one per tile, but for the persistent TMA family at most one per SM (each walks the tiles).</summary>
    public long Grid(int m, int n, int multiprocessors) => Tma ? Math.Min(Blocks(m, n), multiprocessors) : Blocks(m, n);

    /// <summary>The launch's grid: <see cref="Grid"/> along x, and a split-K tile's <see cref="Splits"/> blocks of each cluster along y.</summary>
    public Dim3 LaunchGrid(int m, int n, int multiprocessors) => new(checked((uint)Grid(m, n, multiprocessors)), (uint)Splits);

    /// <summary>The thread-block cluster a launch asks for: 1 × <see cref="Splits"/> × 1 for a split-K tile, none otherwise.</summary>
    public Dim3? Cluster => Splits > 1 ? new Dim3(1, (uint)Splits) : null;

    /// <summary>The kernel source with this tile defined in front of the template text (the default tile leaves it unchanged).</summary>
    public string Specialize(string source, int n)
    {
        if (IsDefaultFor(n)) return source;
        var defines = string.Create(CultureInfo.InvariantCulture, $"#define FUSION_BM {Rows}\n#define FUSION_BN {Columns}\n");
        if (Wide || Wgmma)
            defines += string.Create(CultureInfo.InvariantCulture,
                $"#define FUSION_WARP_ROWS {WarpRows}\n#define FUSION_WARP_COLS {WarpColumns}\n#define FUSION_STAGES {Stages}\n#define FUSION_GEMM_DYNAMIC_SMEM 1\n");
        if (Wgmma) defines += "#define FUSION_GEMM_WGMMA 1\n";
        if (Tma) defines += "#define FUSION_GEMM_TMA 1\n";
        if (Pingpong) defines += "#define FUSION_GEMM_PINGPONG 1\n";
        if (Splits > 1)
            defines += string.Create(CultureInfo.InvariantCulture, $"#define FUSION_STAGES {Stages}\n#define FUSION_GEMM_SPLITS {Splits}\n");
        return InsertDefines(source, defines, "a tile");
    }

    /// <summary><paramref name="defines"/> put in front of a specialized gemm source's FUSION_KERNEL line, where the template's settings go.</summary>
    internal static string InsertDefines(string source, string defines, string what)
    {
        const string anchor = "#define FUSION_KERNEL ";
        int at = source.IndexOf(anchor, StringComparison.Ordinal);
        if (at < 0) throw new FusionException($"gemm source has no '#define FUSION_KERNEL' line to put {what} in front of");
        return source.Insert(at, defines);
    }

    /// <summary>"128x96"; a Hopper tile "128x256h", a Hopper TMA one "128x256t", a ping-pong one "128x128p", a split-K one "32x96k4".</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Rows}x{Columns}{(Pingpong ? "p" : Tma ? "t" : Wgmma ? "h" : "")}{(Splits > 1 ? $"k{Splits}" : "")}");

    /// <summary>
    /// Reads "128x96" (a tile the template takes: a thin one or a wide one), "128x256h" (a Hopper one), "128x256t" (a Hopper TMA one),
    /// "128x128p" (a ping-pong one) or "32x96k4" (a thin one split over a cluster of 2, 4 or 8 blocks); null otherwise.
    /// </summary>
    public static GemmTile? TryParse(string text)
    {
        int split = text.LastIndexOf('k');
        if (split > 0)
        {
            if (!int.TryParse(text.AsSpan(split + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int splits) || splits is not (2 or 4 or 8)
                || TryParse(text[..split]) is not { } thin || thin.Wide || thin.Wgmma || thin.Rows is not (32 or 64))
                return null;
            return thin with { Splits = splits };
        }
        // A Hopper family's suffix: the member of that family with the shape before it.
        var family = text is [.., var suffix] ? suffix switch { 'h' => HopperTiles, 't' => HopperTmaTiles, 'p' => HopperPingpongTiles, _ => null } : null;
        if (family is not null)
        {
            if (TryParse(text[..^1]) is not { } shape) return null;
            foreach (var member in family)
                if (member.Rows == shape.Rows && member.Columns == shape.Columns) return member;
            return null;
        }
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
