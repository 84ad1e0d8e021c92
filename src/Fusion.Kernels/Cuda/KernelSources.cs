namespace Fusion.Kernels;

/// <summary>
/// The CUDA C sources shipped in this assembly (embedded as Fusion.Kernels.Cuda.&lt;file&gt;):
/// headers (.cuh) such as the prelude, and kernels (.cu) that include them.
/// </summary>
public static class KernelSources
{
    private const string Prefix = "Fusion.Kernels.Cuda.";
    private static readonly Lazy<IReadOnlyDictionary<string, string>> s_all = new(Load);

    /// <summary>Every shipped source, by file name.</summary>
    public static IReadOnlyDictionary<string, string> All => s_all.Value;

    /// <summary>The .cuh headers, by the name kernels #include them under.</summary>
    public static IReadOnlyDictionary<string, string> Headers { get; } = new FilteredView(".cuh");

    /// <summary>The .cu kernel files.</summary>
    public static IReadOnlyDictionary<string, string> Kernels { get; } = new FilteredView(".cu");

    /// <summary>The text of <paramref name="fileName"/>, e.g. "prelude.cuh".</summary>
    public static string Get(string fileName) => All.TryGetValue(fileName, out var text)
        ? text
        : throw new KeyNotFoundException($"no CUDA source named '{fileName}' is embedded in Fusion.Kernels; known: {string.Join(", ", All.Keys)}");

    private static IReadOnlyDictionary<string, string> Load()
    {
        var asm = typeof(KernelSources).Assembly;
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var resource in asm.GetManifestResourceNames())
        {
            if (!resource.StartsWith(Prefix, StringComparison.Ordinal)) continue;
            using var stream = asm.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            result[resource[Prefix.Length..]] = reader.ReadToEnd();
        }
        return result;
    }

    /// <summary>A read-only view of <see cref="All"/> restricted to one file extension.</summary>
    private sealed class FilteredView(string extension) : IReadOnlyDictionary<string, string>
    {
        private IEnumerable<KeyValuePair<string, string>> Items => All.Where(kv => kv.Key.EndsWith(extension, StringComparison.Ordinal));

        public string this[string key] => TryGetValue(key, out var v) ? v : throw new KeyNotFoundException(key);

        public IEnumerable<string> Keys => Items.Select(kv => kv.Key);

        public IEnumerable<string> Values => Items.Select(kv => kv.Value);

        public int Count => Items.Count();

        public bool ContainsKey(string key) => TryGetValue(key, out _);

        public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out string value)
        {
            value = null;
            return key.EndsWith(extension, StringComparison.Ordinal) && All.TryGetValue(key, out value);
        }

        public IEnumerator<KeyValuePair<string, string>> GetEnumerator() => Items.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
