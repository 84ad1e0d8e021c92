using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace Fusion.Generator.Emit
{
    /// <summary>C# literals for generated code, culture-invariant.</summary>
    internal static class Literals
    {
        public static string Float(float value) => value.ToString("R", CultureInfo.InvariantCulture).Replace("E", "e") + "f";

        public static string Bool(bool value) => value ? "true" : "false";

        public static string String(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

        /// <summary>A C# verbatim string of <paramref name="value"/> (kernel sources, the loop IR), quotes doubled.</summary>
        public static string Verbatim(string value) => "@\"" + value.Replace("\"", "\"\"") + "\"";

        /// <summary>A C# identifier for <paramref name="name"/>: a reserved keyword (a Forward parameter named <c>@in</c>) gets its '@'.</summary>
        public static string Identifier(string name) =>
            Microsoft.CodeAnalysis.CSharp.SyntaxFacts.GetKeywordKind(name) != Microsoft.CodeAnalysis.CSharp.SyntaxKind.None ? "@" + name : name;

        public static string IntArray(IEnumerable<int> values) => "new int[] { " + string.Join(", ", values.Select(v => v.ToString(CultureInfo.InvariantCulture))) + " }";
    }
}
