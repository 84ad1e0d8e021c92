using System.Collections.Generic;
using System.Linq;

namespace Fusion.Generator.Emit
{
    /// <summary>
    /// The template bodies several kernel sources of a model end with (the GEMM template under every GEMM's defines and epilogue,
    /// an attention template under its constants): each is written once, as a static field of the kernel table, and a source that
    /// ends with one is written as its own head + that field. Why: C# keeps one copy of each distinct string literal in the
    /// assembly's user-string heap, which holds at most 16 MB, and a project with two convolutional networks (about a hundred
    /// GEMMs, each carrying a ~30 KB template) passed it (CS8103); the template text is now there once per model.
    /// </summary>
    internal sealed class SharedTemplateText
    {
        private readonly List<KeyValuePair<string, string>> _bodies; // field name → body, the longest body first

        public SharedTemplateText(IEnumerable<string> sources)
        {
            var all = sources.ToList();
            _bodies = KernelSourceWriter.Templates
                .Select(t => new KeyValuePair<string, string>(FieldName(t.Key), KernelText.Body(t.Value)))
                .Where(b => all.Any(s => Ends(s, b.Value)))
                .OrderByDescending(b => b.Value.Length)
                .ToList();
        }

        /// <summary>The static fields, written before the kernels that read them (static initializers run in textual order).</summary>
        public void WriteFields(IndentedWriter w)
        {
            foreach (var body in _bodies)
            {
                w.Line("/// <summary>A template's text, which the kernel sources below end with (written once).</summary>");
                w.Verbatim($"private static readonly string {body.Key} = " + Literals.Verbatim(body.Value) + ";");
                w.Line();
            }
        }

        /// <summary>The C# expression of <paramref name="source"/>: a verbatim literal, or its head + the shared body it ends with.</summary>
        public string Expression(string source)
        {
            foreach (var body in _bodies)
                if (Ends(source, body.Value)) return Literals.Verbatim(source.Substring(0, source.Length - body.Value.Length)) + " + " + body.Key;
            return Literals.Verbatim(source);
        }

        private static bool Ends(string source, string body) => source.Length > body.Length && source.EndsWith(body, System.StringComparison.Ordinal);

        private static string FieldName(string pattern) =>
            "TemplateText_" + new string(pattern.Select(c => char.IsLetterOrDigit(c) ? c : '_').ToArray());
    }
}
