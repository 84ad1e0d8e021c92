using System.Collections.Generic;
using System.Globalization;

namespace Fusion.Compiler
{
    /// <summary>
    /// One dimension: <see cref="Value"/> alone when static, or <see cref="Value"/>·N when it carries the
    /// dynamic batch N. A shape holds at most one dynamic dimension. The run time sees only static dimensions.
    /// </summary>
    internal readonly record struct Dim(long Value, bool Dynamic)
    {
        public static Dim Static(long value) => new(value, false);

        public static Dim Batch(long factor = 1) => new(factor, true);

        public static readonly Dim One = Static(1);

        /// <summary>The number of elements this dimension spans for a batch of <paramref name="batch"/>.</summary>
        public long At(long batch) => Dynamic ? Value * batch : Value;

        /// <summary>"96", "N", "64N".</summary>
        public override string ToString() => !Dynamic ? Value.ToString(CultureInfo.InvariantCulture)
            : Value == 1 ? "N" : Value.ToString(CultureInfo.InvariantCulture) + "N";

        /// <summary>A C# expression for this dimension, given the name of the batch variable.</summary>
        public string ToCSharp(string batch) => !Dynamic ? Value.ToString(CultureInfo.InvariantCulture)
            : Value == 1 ? batch : $"{batch} * {Value.ToString(CultureInfo.InvariantCulture)}";

        /// <summary>Parses "96", "N" or "64N".</summary>
        public static Dim Parse(string text)
        {
            if (text == "N") return Batch();
            if (text.EndsWith("N", System.StringComparison.Ordinal)) return Batch(long.Parse(text.Substring(0, text.Length - 1), CultureInfo.InvariantCulture));
            return Static(long.Parse(text, CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Shape helpers over <see cref="Dim"/> lists.</summary>
    internal static class Dims
    {
        /// <summary>"[N, 56, 56, 96]".</summary>
        public static string Text(IEnumerable<Dim> dims) => "[" + string.Join(", ", dims) + "]";

        /// <summary>The product of <paramref name="dims"/> (dynamic when one of them is), or null when two are dynamic.</summary>
        public static Dim? Product(IEnumerable<Dim> dims)
        {
            long value = 1;
            bool dynamic = false;
            foreach (var d in dims)
            {
                if (d.Dynamic && dynamic) return null;
                dynamic |= d.Dynamic;
                value *= d.Value;
            }
            return new Dim(value, dynamic);
        }

        /// <summary>The element count for a batch of <paramref name="batch"/>.</summary>
        public static long Count(IEnumerable<Dim> dims, long batch)
        {
            long n = 1;
            foreach (var d in dims) n *= d.At(batch);
            return n;
        }

        public static bool HasDynamic(IEnumerable<Dim> dims)
        {
            foreach (var d in dims)
                if (d.Dynamic) return true;
            return false;
        }

        /// <summary>An axis counted from the end when negative; -1 when outside a shape of <paramref name="rank"/>.</summary>
        public static int Axis(long axis, int rank) => axis < 0 ? (axis + rank >= 0 ? (int)(axis + rank) : -1) : axis < rank ? (int)axis : -1;
    }
}
