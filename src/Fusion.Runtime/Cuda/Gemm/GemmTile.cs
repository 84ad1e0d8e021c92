using System.Globalization;

namespace Fusion.Cuda.Gemm;

/// <summary>
/// A tile of the <c>gemm</c> template: <see cref="Rows"/> × <see cref="Columns"/> of out per block (the template's
/// FUSION_BM × FUSION_BN). Two families (gemm.cut's header says why): <em>thin</em> tiles (32, 64 or 96 columns) give one warp
/// 16 rows and every column, in two stages; the default is 128 rows and a column tile fitted to N (<see cref="DefaultColumns"/>),
/// smaller tiles give small m or N more blocks to spread over the SMs. <em>Wide</em> tiles (128 × 128 and 256 × 64 with 4 warps,
/// 256 × 128 and 128 × 256 with 8) give each warp 64 × 64 of out, in three stages of dynamic shared memory: for GEMMs bound by the
/// tensor cores.
/// </summary>
public readonly record struct GemmTile(int Rows, int Columns)
{
    /// <summary>The template's default tile for width <paramref name="n"/>.</summary>
    public static GemmTile Default(int n) => new(128, DefaultColumns(n));

    /// <summary>The template's default column tile for width <paramref name="n"/>: 96 divides the Swin widths, 64 or 32 for narrow layers.</summary>
    public static int DefaultColumns(int n) => Compiler.GemmRows.DefaultColumns(n);

    /// <summary>The wide tiles, in the order fast-run times them.</summary>
    public static IReadOnlyList<GemmTile> WideTiles { get; } = [new(128, 128), new(256, 128), new(128, 256), new(256, 64)];

    /// <summary>
    /// The tiles fast-run times for width <paramref name="n"/>, the default first: 128, 64 and 32 rows with the default columns, 32
    /// columns at 64 rows; then the wide tiles no wider than N (none below 64).
    /// </summary>
    public static IReadOnlyList<GemmTile> Candidates(int n)
    {
        int columns = DefaultColumns(n);
        var tiles = new List<GemmTile> { new(128, columns), new(64, columns), new(32, columns), new(64, 32) };
        tiles.AddRange(WideTiles.Where(t => t.Columns <= n));
        return tiles.Distinct().ToList();
    }

    /// <summary>Whether this is a wide tile (warps in a grid, 64 × 64 each, three stages) rather than a thin one (a warp per 16 rows).</summary>
    public bool Wide => Columns >= 128 || Rows == 256;

    /// <summary>Rows of out per warp: 16 (thin) or 64 (wide).</summary>
    public int WarpRows => Wide ? 64 : 16;

    /// <summary>Columns of out per warp: all of them (thin) or 64 (wide).</summary>
    public int WarpColumns => Wide ? 64 : Columns;

    /// <summary>Shared-memory stages of the main loop: 2 (thin) or 3 (wide).</summary>
    public int Stages => Wide ? 3 : 2;

    /// <summary>Threads per block: a warp per warp tile (thin: per 16 rows; wide: per 64 × 64).</summary>
    public int Threads => Rows / WarpRows * (Columns / WarpColumns) * 32;

    /// <summary>Dynamic shared memory a launch asks for: the wide tiles' stages, (rows + columns) rows of 80 bytes each (0 for thin tiles, whose stages are static).</summary>
    public int DynamicSharedBytes => Wide ? Stages * (Rows + Columns) * 80 : 0;

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
        if (Wide)
            defines += string.Create(CultureInfo.InvariantCulture,
                $"#define FUSION_WARP_ROWS {WarpRows}\n#define FUSION_WARP_COLS {WarpColumns}\n#define FUSION_STAGES {Stages}\n#define FUSION_GEMM_DYNAMIC_SMEM 1\n");
        return source.Insert(at, defines);
    }

    /// <summary>"128x96".</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Rows}x{Columns}");

    /// <summary>Reads "128x96" (a tile the template takes: a thin one or a wide one); null otherwise.</summary>
    public static GemmTile? TryParse(string text)
    {
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
