namespace Fusion.Cuda;

/// <summary>
/// Fast-run decisions in memory and on disk: one small text file per key in a folder (the kernel cache's), written to a temporary
/// file and renamed over the entry. A file that cannot be parsed, or that holds another key, is reported through the warning
/// callback and treated as absent (the caller measures again and overwrites it); an unwritable folder means remembering in memory
/// only, with one warning. Each kind of decision (<see cref="Gemm.GemmChoiceCache"/>, <see cref="Generated.KernelLanguageChoices"/>)
/// says how its decision reads and writes as text.
/// </summary>
public abstract class ChoiceCache<T> where T : class
{
    private readonly Dictionary<string, T> _memory = new(StringComparer.Ordinal);
    private readonly Action<string> _warn;
    private readonly string _what;
    private readonly string _filePrefix;
    private readonly Lock _lock = new();
    private bool _diskDisabled;

    /// <param name="what">The decision in messages ("gemm choice").</param>
    /// <param name="filePrefix">The start of its files' names ("gemm-choice").</param>
    protected ChoiceCache(string directory, string what, string filePrefix, Action<string>? warn)
    {
        Directory = directory;
        _what = what;
        _filePrefix = filePrefix;
        _warn = warn ?? (m => Console.Error.WriteLine($"fusion: warning: {m}"));
    }

    public string Directory { get; }

    /// <summary>The file that holds <paramref name="key"/>'s decision.</summary>
    public string PathFor(string key) => Path.Combine(Directory, $"{_filePrefix}-{KernelCache.Key(key)[..32]}.txt");

    /// <summary>The file's text for a decision (its key included).</summary>
    protected abstract string Write(string key, T choice);

    /// <summary>The decision in <paramref name="text"/>, or null with the reason when it is malformed or holds another key.</summary>
    protected abstract T? Read(string text, string key, out string? problem);

    /// <summary>The remembered decision for <paramref name="key"/>, from memory or disk.</summary>
    public bool TryGet(string key, out T choice)
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
            _warn($"{_what} file {path} is unreadable ({e.Message}); measuring again");
            return false;
        }
        var parsed = Read(text, key, out var problem);
        if (parsed is null)
        {
            _warn($"{_what} file {path} is corrupt ({problem}); ignored, measuring again");
            return false;
        }
        lock (_lock) _memory[key] = parsed;
        choice = parsed;
        return true;
    }

    /// <summary>Remembers <paramref name="choice"/> in memory and, where the folder allows, on disk.</summary>
    public void Store(string key, T choice)
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
            File.WriteAllText(temp, Write(key, choice));
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
            _warn($"{_what} folder {Directory} is not writable ({e.Message}); fast-run decisions stay in memory");
        }
    }

    /// <summary>A line "<paramref name="prefix"/>N" with N a finite, non-negative time.</summary>
    protected static bool TryMicroseconds(string line, string prefix, out double value)
    {
        value = 0;
        return line.StartsWith(prefix, System.StringComparison.Ordinal)
            && double.TryParse(line.AsSpan(prefix.Length), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out value)
            && double.IsFinite(value) && value >= 0;
    }

    /// <summary>
    /// The lines of a decision file that starts with <paramref name="magic"/> and "key <paramref name="key"/>" and has
    /// <paramref name="count"/> lines; null with the reason otherwise.
    /// </summary>
    protected static string[]? Lines(string text, string magic, string key, int count, out string? problem)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        problem = lines.Length != count || lines[0] != magic ? "bad header or line count"
            : lines[1] != "key " + key ? "it holds another key"
            : null;
        return problem is null ? lines : null;
    }
}
