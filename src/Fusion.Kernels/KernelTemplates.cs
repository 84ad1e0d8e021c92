using System.Globalization;
using System.Text;

namespace Fusion.Kernels;

/// <summary>
/// CUDA C templates for fused kernels (<c>Cuda/Templates/&lt;pattern&gt;.cut</c>, embedded as
/// Fusion.Kernels.Templates.&lt;file&gt;). A template is specialized by prepending its kernel name
/// and integer constants as macros: the source generator does exactly this (it embeds the same
/// files) when it emits a model's kernels, and tests and benchmarks use <see cref="Specialize"/>.
/// The two must produce identical text for the same inputs; a generator test checks it.
/// </summary>
public static class KernelTemplates
{
    private const string Prefix = "Fusion.Kernels.Templates.";
    private static readonly Lazy<IReadOnlyDictionary<string, string>> s_all = new(Load);

    /// <summary>Template bodies by pattern name (file name without .cut).</summary>
    public static IReadOnlyDictionary<string, string> All => s_all.Value;

    public static string Get(string pattern) => All.TryGetValue(pattern, out var text)
        ? text
        : throw new KeyNotFoundException($"no kernel template '{pattern}' is embedded in Fusion.Kernels; known: {string.Join(", ", All.Keys)}");

    /// <summary>
    /// The compilable source of <paramref name="pattern"/> specialized as kernel <paramref name="name"/>:
    /// a header line, the prelude include, <c>#define FUSION_KERNEL name</c>, one <c>#define FUSION_KEY value</c>
    /// per constant in ordinal key order, a blank line, then the template body.
    /// </summary>
    public static string Specialize(string pattern, string name, IReadOnlyDictionary<string, int> constants)
    {
        var text = new StringBuilder();
        text.Append("// ").Append(name).Append(": ").Append(pattern).Append(" kernel specialized by Fusion\n");
        text.Append("#include \"prelude.cuh\"\n");
        text.Append("#define FUSION_KERNEL ").Append(name).Append('\n');
        foreach (var key in constants.Keys.OrderBy(k => k, StringComparer.Ordinal))
            text.Append("#define FUSION_").Append(key).Append(' ').Append(constants[key].ToString(CultureInfo.InvariantCulture)).Append('\n');
        text.Append('\n').Append(Get(pattern).Replace("\r\n", "\n"));
        return text.ToString();
    }

    private static IReadOnlyDictionary<string, string> Load()
    {
        var asm = typeof(KernelTemplates).Assembly;
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var resource in asm.GetManifestResourceNames())
        {
            if (!resource.StartsWith(Prefix, StringComparison.Ordinal) || !resource.EndsWith(".cut", StringComparison.Ordinal)) continue;
            using var stream = asm.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            result[resource[Prefix.Length..^4]] = reader.ReadToEnd();
        }
        return result;
    }
}
