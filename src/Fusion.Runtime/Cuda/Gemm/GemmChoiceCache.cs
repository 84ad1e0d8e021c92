using System.Globalization;

namespace Fusion.Cuda.Gemm;

/// <summary>
/// A fast-run decision: the path taken, the generated kernel's fastest tile (and whether that is the ILGPU template's), the median
/// microseconds of that tile and of cuBLASLt's fastest algorithm (infinite where cuBLASLt was not a candidate: an int8 kernel's; written
/// "n/a"), and which of the algorithms its heuristic offered that was (an index into its list, 0 its first guess).
/// </summary>
public sealed record GemmChoice(GemmPath Path, GemmTile Tile, double GeneratedMicroseconds, double CublasLtMicroseconds, bool Ilgpu = false, int Algorithm = 0);

/// <summary>GEMM fast-run decisions (<see cref="ChoiceCache{T}"/>): the path and tile per shape.</summary>
public sealed class GemmChoiceCache(string directory, Action<string>? warn = null) : ChoiceCache<GemmChoice>(directory, "gemm choice", "gemm-choice", warn)
{
    private const string Magic = "fusion-gemm-choice 3";

    /// <summary>cuBLASLt's time where it was not timed (an int8 kernel, which it cannot run).</summary>
    private const string NotTimed = "n/a";

    protected override string Write(string key, GemmChoice choice) => Format(key, choice);

    protected override GemmChoice? Read(string text, string key, out string? problem) => Parse(text, key, out problem);

    internal static string Format(string key, GemmChoice choice)
    {
        string cublas = double.IsPositiveInfinity(choice.CublasLtMicroseconds) ? NotTimed : choice.CublasLtMicroseconds.ToString("R", CultureInfo.InvariantCulture);
        return string.Create(CultureInfo.InvariantCulture,
            $"{Magic}\nkey {key}\npath {Name(choice.Path)}\ntile {choice.Tile}{(choice.Ilgpu ? " ilgpu" : "")}\ngenerated_us {choice.GeneratedMicroseconds:R}\ncublaslt_us {cublas}\ncublaslt_algorithm {choice.Algorithm}\n");
    }

    internal static GemmChoice? Parse(string text, string key, out string? problem)
    {
        var lines = Lines(text, Magic, key, 7, out problem);
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
        const string algorithmPrefix = "cublaslt_algorithm ";
        int algorithm = -1;
        bool algorithmRead = lines[6].StartsWith(algorithmPrefix, StringComparison.Ordinal)
            && int.TryParse(lines[6].AsSpan(algorithmPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out algorithm) && algorithm < 16;
        if (path is null || tile is null || !TryMicroseconds(lines[4], "generated_us ", out var generated) || !cublasRead || !algorithmRead)
        {
            problem = "unreadable path, tile, times or algorithm";
            return null;
        }
        return new GemmChoice(path.Value, tile.Value, generated, cublas, ilgpu, algorithm);
    }

    private static string Name(GemmPath path) => path == GemmPath.Generated ? "generated" : "cublaslt";
}
