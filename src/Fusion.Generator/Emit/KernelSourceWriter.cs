using System.Collections.Generic;
using System.IO;
using System.Linq;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Emit
{
    /// <summary>
    /// The kernel templates (src/Fusion.Kernels/Cuda/Templates/*.cut, embedded in this assembly) and their specialization
    /// through <see cref="KernelText"/>, the definition the runtime shares.
    /// </summary>
    internal static class KernelSourceWriter
    {
        private const string Prefix = "Fusion.Generator.Templates.";
        private static readonly Dictionary<string, string> s_templates = Load();

        public static bool HasTemplate(string pattern) => s_templates.ContainsKey(pattern);

        public static string Template(string pattern) => s_templates[pattern];

        /// <summary>Every template, by pattern.</summary>
        public static IEnumerable<KeyValuePair<string, string>> Templates => s_templates;

        public static string Specialize(KernelSpec spec) =>
            KernelText.Specialize(spec.Pattern, spec.Name, spec.Constants.Select(c => new KeyValuePair<string, int>(c.Key, c.Value)), s_templates[spec.Pattern]);

        private static Dictionary<string, string> Load()
        {
            var assembly = typeof(KernelSourceWriter).Assembly;
            var result = new Dictionary<string, string>();
            foreach (var resource in assembly.GetManifestResourceNames())
            {
                if (!resource.StartsWith(Prefix, System.StringComparison.Ordinal) || !resource.EndsWith(".cut", System.StringComparison.Ordinal)) continue;
                using var reader = new StreamReader(assembly.GetManifestResourceStream(resource)!);
                result[resource.Substring(Prefix.Length, resource.Length - Prefix.Length - 4)] = reader.ReadToEnd();
            }
            return result;
        }
    }
}
