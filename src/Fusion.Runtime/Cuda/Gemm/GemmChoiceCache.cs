using System.Globalization;

namespace Fusion.Cuda.Gemm;

/// <summary>
/// A fast-run decision: the path taken, the generated kernel's fastest tile (and whether that is the ILGPU template's), and the median
/// microseconds of that tile and of cuBLASLt (infinite where cuBLASLt was not a candidate: an int8 kernel's; written "n/a").
/// </summary>
public sealed record GemmChoice(GemmPath Path, GemmTile Tile, double GeneratedMicroseconds, double CublasLtMicroseconds, bool Ilgpu = false);

/// <summary>GEMM fast-run decisions (<see cref="ChoiceCache{T}"/>): the path and tile per shape.</summary>
public sealed class GemmChoiceCache(string directory, Action<string>? warn = null) : ChoiceCache<GemmChoice>(directory, "gemm choice", "gemm-choice", warn)
{
    private const string Magic = "fusion-gemm-choice 2";

    /// <summary>cuBLASLt's time where it was not timed (an int8 kernel, which it cannot run).</summary>
    private const string NotTimed = "n/a";

    protected override string Write(string key, GemmChoice choice) => Format(key, choice);

    protected override GemmChoice? Read(string text, string key, out string? problem) => Parse(text, key, out problem);

    internal static string Format(string key, GemmChoice choice)
    {
        string cublas = double.IsPositiveInfinity(choice.CublasLtMicroseconds) ? NotTimed : choice.CublasLtMicroseconds.ToString("R", CultureInfo.InvariantCulture);
        return string.Create(CultureInfo.InvariantCulture,
            $"{Magic}\nkey {key}\npath {Name(choice.Path)}\ntile {choice.Tile}{(choice.Ilgpu ? " ilgpu" : "")}\ngenerated_us {choice.GeneratedMicroseconds:R}\ncublaslt_us {cublas}\n");
    }

    internal static GemmChoice? Parse(string text, string key, out string? problem)
    {
        var lines = Lines(text, Magic, key, 6, out problem);
        if (lines is null) return null;
        GemmPath? path = lines[2] switch
        {
            "path generated" => GemmPath.Generated,
            "path cublaslt" => GemmPath.CublasLt,
            _ => null,
        };
        // "tile 128x96", or "tile 128x96 ilgpu" for the ILGPU template.
        bool ilgpu = lines[3].EndsWith(" ilgpu", StringComparison.Ordinal);
        string tileText = ilgpu ? lines[3][..^" ilgpu".Length] : lines[3];
        var tile = tileText.StartsWith("tile ", StringComparison.Ordinal) ? GemmTile.TryParse(tileText["tile ".Length..]) : null;
        double cublas = double.PositiveInfinity;
        bool cublasRead = lines[5] == "cublaslt_us " + NotTimed || TryMicroseconds(lines[5], "cublaslt_us ", out cublas);
        if (path is null || tile is null || !TryMicroseconds(lines[4], "generated_us ", out var generated) || !cublasRead)
        {
            problem = "unreadable path, tile or times";
            return null;
        }
        return new GemmChoice(path.Value, tile.Value, generated, cublas, ilgpu);
    }

    private static string Name(GemmPath path) => path == GemmPath.Generated ? "generated" : "cublaslt";
}
