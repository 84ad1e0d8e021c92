using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace Fusion.Generator.Emit
{
    /// <summary>C# literals for generated code, culture-invariant.</summary>
    internal static class Literals
    {
        public static string Float(float value) => value.ToString("R", CultureInfo.InvariantCulture).Replace("E", "e") + "f";

        public static string String(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

        /// <summary>A C# verbatim string of <paramref name="value"/> (kernel sources, the loop IR), quotes doubled.</summary>
        public static string Verbatim(string value) => "@\"" + value.Replace("\"", "\"\"") + "\"";

        public static string IntArray(IEnumerable<int> values) => "new int[] { " + string.Join(", ", values.Select(v => v.ToString(CultureInfo.InvariantCulture))) + " }";
    }
}
