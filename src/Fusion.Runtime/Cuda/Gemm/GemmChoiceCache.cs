using System.Globalization;

namespace Fusion.Cuda.Gemm;

/// <summary>
/// A fast-run decision: the path taken, the generated kernel's fastest tile, and the median microseconds of that tile and of cuBLASLt.
/// </summary>
public sealed record GemmChoice(GemmPath Path, GemmTile Tile, double GeneratedMicroseconds, double CublasLtMicroseconds);

/// <summary>
/// Fast-run decisions in memory and on disk: one small text file per key in a folder (the kernel cache's),
/// written to a temporary file and renamed over the entry. A file that cannot be parsed, or that holds
/// another key, is reported through the warning callback and treated as absent (the caller re-measures and
/// overwrites it); an unwritable folder means remembering in memory only, with one warning.
/// </summary>
public sealed class GemmChoiceCache
{
    private const string Magic = "fusion-gemm-choice 2";
    private readonly Dictionary<string, GemmChoice> _memory = new(StringComparer.Ordinal);
    private readonly Action<string> _warn;
    private readonly Lock _lock = new();
    private bool _diskDisabled;

    public GemmChoiceCache(string directory, Action<string>? warn = null)
    {
        Directory = directory;
        _warn = warn ?? (m => Console.Error.WriteLine($"fusion: warning: {m}"));
    }

    public string Directory { get; }

    /// <summary>The file that holds <paramref name="key"/>'s decision.</summary>
    public string PathFor(string key) => Path.Combine(Directory, $"gemm-choice-{KernelCache.Key(key)[..32]}.txt");

    /// <summary>The remembered decision for <paramref name="key"/>, from memory or disk.</summary>
    public bool TryGet(string key, out GemmChoice choice)
    {
        lock (_lock)
        {
            if (_memory.TryGetValue(key, out choice!)) return true;
        }
        var path = PathFor(key);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _warn($"gemm choice file {path} is unreadable ({e.Message}); measuring again");
            return false;
        }
        var parsed = Parse(text, key, out var problem);
        if (parsed is null)
        {
            _warn($"gemm choice file {path} is corrupt ({problem}); ignored, measuring again");
            return false;
        }
        lock (_lock) _memory[key] = parsed;
        choice = parsed;
        return true;
    }

    /// <summary>Remembers <paramref name="choice"/> in memory and, where the folder allows, on disk.</summary>
    public void Store(string key, GemmChoice choice)
    {
        lock (_lock)
        {
            _memory[key] = choice;
            if (_diskDisabled) return;
        }
        var path = PathFor(key);
        var temp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            File.WriteAllText(temp, Format(key, choice));
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try
            {
                File.Delete(temp);
            }
            catch (Exception e2) when (e2 is IOException or UnauthorizedAccessException)
            {
            }
            lock (_lock) _diskDisabled = true;
            _warn($"gemm choice folder {Directory} is not writable ({e.Message}); fast-run decisions stay in memory");
        }
    }

    internal static string Format(string key, GemmChoice choice) => string.Create(CultureInfo.InvariantCulture,
        $"{Magic}\nkey {key}\npath {Name(choice.Path)}\ntile {choice.Tile}\ngenerated_us {choice.GeneratedMicroseconds:R}\ncublaslt_us {choice.CublasLtMicroseconds:R}\n");

    internal static GemmChoice? Parse(string text, string key, out string? problem)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        problem = null;
        if (lines.Length != 6 || lines[0] != Magic)
        {
            problem = "bad header or line count";
            return null;
        }
        if (lines[1] != "key " + key)
        {
            problem = "it holds another key";
            return null;
        }
        GemmPath? path = lines[2] switch
        {
            "path generated" => GemmPath.Generated,
            "path cublaslt" => GemmPath.CublasLt,
            _ => null,
        };
        var tile = lines[3].StartsWith("tile ", StringComparison.Ordinal) ? GemmTile.TryParse(lines[3]["tile ".Length..]) : null;
        if (path is null || tile is null || !TryNumber(lines[4], "generated_us ", out var generated) || !TryNumber(lines[5], "cublaslt_us ", out var cublas))
        {
            problem = "unreadable path, tile or times";
            return null;
        }
        return new GemmChoice(path.Value, tile.Value, generated, cublas);
    }

    private static bool TryNumber(string line, string prefix, out double value)
    {
        value = 0;
        return line.StartsWith(prefix, StringComparison.Ordinal)
            && double.TryParse(line.AsSpan(prefix.Length), NumberStyles.Float, CultureInfo.InvariantCulture, out value)
            && double.IsFinite(value) && value >= 0;
    }

    private static string Name(GemmPath path) => path == GemmPath.Generated ? "generated" : "cublaslt";
}
