using System.Collections.Generic;
using System.Globalization;

namespace Fusion.Compiler
{
    /// <summary>What CUDA C and C# spell alike, shared by the two kernel printers: arithmetic, comparisons and float literals.</summary>
    internal static class CFamilySyntax
    {
        /// <summary>The expression of an operation both languages write the same way, or null for one each spells its own.</summary>
        public static string? Expression(ScalarOp op, IReadOnlyList<string> a) => op switch
        {
            ScalarOp.Add => $"({a[0]} + {a[1]})",
            ScalarOp.Sub => $"({a[0]} - {a[1]})",
            ScalarOp.Mul => $"({a[0]} * {a[1]})",
            ScalarOp.Lt => $"({a[0]} < {a[1]} ? 1.0f : 0.0f)",
            ScalarOp.Le => $"({a[0]} <= {a[1]} ? 1.0f : 0.0f)",
            ScalarOp.Gt => $"({a[0]} > {a[1]} ? 1.0f : 0.0f)",
            ScalarOp.Ge => $"({a[0]} >= {a[1]} ? 1.0f : 0.0f)",
            ScalarOp.Eq => $"({a[0]} == {a[1]} ? 1.0f : 0.0f)",
            ScalarOp.Ne => $"({a[0]} != {a[1]} ? 1.0f : 0.0f)",
            ScalarOp.Neg => $"(-{a[0]})",
            _ => null,
        };

        /// <summary>A finite float32 literal ("0.5f", "3.0f", "1E-05f"); the printers spell infinities and NaN themselves.</summary>
        public static string FiniteLiteral(double v)
        {
            var s = ((float)v).ToString("R", CultureInfo.InvariantCulture);
            if (s.IndexOf('.') < 0 && s.IndexOf('E') < 0) s += ".0";
            return s + "f";
        }
    }
}
