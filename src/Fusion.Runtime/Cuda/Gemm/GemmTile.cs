using System.Globalization;

namespace Fusion.Cuda.Gemm;

/// <summary>
/// A tile of the <c>gemm</c> template: <see cref="Rows"/> × <see cref="Columns"/> of out per block (the template's
/// FUSION_BM × FUSION_BN), one warp per 16 rows. The template's default is 128 rows and a column tile fitted to N
/// (<see cref="DefaultColumns"/>); smaller tiles give small m or N more blocks to spread over the SMs.
/// </summary>
public readonly record struct GemmTile(int Rows, int Columns)
{
    /// <summary>The template's default tile for width <paramref name="n"/>.</summary>
    public static GemmTile Default(int n) => new(128, DefaultColumns(n));

    /// <summary>The template's default column tile for width <paramref name="n"/>: 96 divides the Swin widths, 64 or 32 for narrow layers.</summary>
    public static int DefaultColumns(int n) => Compiler.GemmRows.DefaultColumns(n);

    /// <summary>The tiles fast-run times for width <paramref name="n"/>, the default first: 128, 64 and 32 rows with the default columns, and 32 columns at 64 rows.</summary>
    public static IReadOnlyList<GemmTile> Candidates(int n)
    {
        int columns = DefaultColumns(n);
        var tiles = new List<GemmTile> { new(128, columns), new(64, columns), new(32, columns), new(64, 32) };
        return tiles.Distinct().ToList();
    }

    /// <summary>Threads per block: one warp per 16 rows.</summary>
    public int Threads => Rows / 16 * 32;

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
        return source.Insert(at, string.Create(CultureInfo.InvariantCulture, $"#define FUSION_BM {Rows}\n#define FUSION_BN {Columns}\n"));
    }

    /// <summary>"128x96".</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Rows}x{Columns}");

    /// <summary>Reads "128x96" (a tile the template takes); null otherwise.</summary>
    public static GemmTile? TryParse(string text)
    {
        var parts = text.Split('x');
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int rows)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int columns))
            return null;
        if (rows is not (32 or 64 or 128) || columns is not (32 or 64 or 96)) return null;
        return new GemmTile(rows, columns);
    }
}
