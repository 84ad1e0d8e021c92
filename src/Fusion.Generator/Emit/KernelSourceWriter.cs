using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Emit
{
    /// <summary>
    /// Specializes the fused-kernel templates (src/Fusion.Kernels/Cuda/Templates/*.cut, embedded in this
    /// assembly) exactly as Fusion.Kernels.KernelTemplates.Specialize does at run time: a header line,
    /// the prelude include, FUSION_KERNEL and one FUSION_KEY define per constant, a blank line, the body.
    /// </summary>
    internal static class KernelSourceWriter
    {
        private const string Prefix = "Fusion.Generator.Templates.";
        private static readonly Dictionary<string, string> s_templates = Load();

        public static bool HasTemplate(string pattern) => s_templates.ContainsKey(pattern);

        public static string Specialize(KernelSpec spec)
        {
            var text = new StringBuilder();
            text.Append("// ").Append(spec.Name).Append(": ").Append(spec.Pattern).Append(" kernel specialized by Fusion\n");
            text.Append("#include \"prelude.cuh\"\n");
            text.Append("#define FUSION_KERNEL ").Append(spec.Name).Append('\n');
            foreach (var constant in spec.Constants.OrderBy(c => c.Key, System.StringComparer.Ordinal))
                text.Append("#define FUSION_").Append(constant.Key).Append(' ').Append(constant.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
            text.Append('\n').Append(s_templates[spec.Pattern].Replace("\r\n", "\n"));
            return text.ToString();
        }

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
