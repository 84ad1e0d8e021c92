using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace Fusion.Compiler
{
    /// <summary>
    /// One named attribute of an operator node: integers (an axis, a permutation, pads), or a float (eps, a scale,
    /// a clamp bound). Equatable, so graphs holding attributes stay cacheable.
    /// </summary>
    internal sealed record OpAttribute(string Name, EquatableArray<long> Ints, double Float, bool IsFloat)
    {
        public static OpAttribute Int(string name, long value) => new(name, EquatableArray.Of(value), 0, false);

        public static OpAttribute IntList(string name, IEnumerable<long> values) => new(name, values.ToEquatableArray(), 0, false);

        public static OpAttribute Real(string name, double value) => new(name, EquatableArray<long>.Empty, value, true);

        public override string ToString() => IsFloat
            ? $"{Name}={Float.ToString("R", CultureInfo.InvariantCulture)}"
            : Ints.Count == 1 ? $"{Name}={Ints[0]}" : $"{Name}=[{string.Join(", ", Ints)}]";
    }

    /// <summary>The attributes of a node, looked up by name; a missing one is a bug in the op's front end and throws naming it.</summary>
    internal readonly record struct AttributeSet(EquatableArray<OpAttribute> Items)
    {
        public static readonly AttributeSet Empty = new(EquatableArray<OpAttribute>.Empty);

        public static AttributeSet Of(params OpAttribute[] items) => new(items.OrderBy(a => a.Name, StringComparer.Ordinal).ToEquatableArray());

        public bool Has(string name) => Find(name) is not null;

        public long Int(string name) => Get(name).Ints[0];

        public long[] Ints(string name) => Get(name).Ints.ToArray();

        public double Float(string name) => Get(name).Float;

        /// <summary>The integer attribute, or <paramref name="fallback"/> when absent.</summary>
        public long IntOr(string name, long fallback) => Find(name) is { IsFloat: false, Ints.Count: > 0 } a ? a.Ints[0] : fallback;

        public double FloatOr(string name, double fallback) => Find(name) is { IsFloat: true } a ? a.Float : fallback;

        /// <summary>A copy with <paramref name="attribute"/> added or replaced.</summary>
        public AttributeSet With(OpAttribute attribute) =>
            new(Items.Where(a => a.Name != attribute.Name).Concat(new[] { attribute }).OrderBy(a => a.Name, StringComparer.Ordinal).ToEquatableArray());

        private OpAttribute? Find(string name)
        {
            foreach (var a in Items)
                if (a.Name == name) return a;
            return null;
        }

        private OpAttribute Get(string name) => Find(name) ?? throw new InvalidOperationException($"the operator has no attribute '{name}'");

        public override string ToString() => string.Join(", ", Items);
    }
}
