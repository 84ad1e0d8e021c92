using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;

namespace Fusion.Compiler
{
    /// <summary>
    /// The operator registry: every descriptor is a static field of this partial class, declared in the file of its family
    /// (Pointwise/Arithmetic.cs, Reductions/Normalization.cs, …). Adding an operator is adding one field (and its
    /// <c>F</c> method and tests); <see cref="All"/> finds it.
    /// </summary>
    internal static partial class Ops
    {
        private static readonly Lazy<Dictionary<string, OpDescriptor>> s_byName = new(() =>
            typeof(Ops).GetFields(BindingFlags.Public | BindingFlags.Static)
                .Where(f => typeof(OpDescriptor).IsAssignableFrom(f.FieldType))
                .Select(f => (OpDescriptor)f.GetValue(null)!)
                .ToDictionary(d => d.Name, StringComparer.Ordinal));

        /// <summary>Every operator, by name.</summary>
        public static IReadOnlyCollection<OpDescriptor> All => s_byName.Value.Values;

        public static bool TryGet(string name, out OpDescriptor descriptor) => s_byName.Value.TryGetValue(name, out descriptor!);

        /// <summary>The descriptor of <paramref name="name"/>; an unknown name is a bug and throws.</summary>
        public static OpDescriptor Get(string name) => TryGet(name, out var d) ? d : throw new InvalidOperationException($"no operator '{name}'");
    }
}
