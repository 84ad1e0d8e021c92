using System.Collections.Generic;
using System.Linq;

namespace Fusion.Compiler
{
    /// <summary>How an address moves along one loop variable.</summary>
    internal enum AccessKind
    {
        /// <summary>It does not depend on the variable: one value serves every element along it.</summary>
        Invariant,

        /// <summary>Within each aligned chunk of the vector width the elements are consecutive: a vector load or store.</summary>
        Vector,

        /// <summary>Anything else: one element at a time.</summary>
        Gather,
    }

    /// <summary>Classifies offsets along a variable, for vectorizing printers and the CPU interpreter's fast paths.</summary>
    internal static class AccessPattern
    {
        /// <summary>
        /// How <paramref name="offset"/> moves along <paramref name="variable"/> in chunks of <paramref name="width"/> (the variable's
        /// extent a multiple of it): with v = width·w + e, a vector access needs offset = base(w, …) + e with base a multiple of
        /// width. So a layout that is contiguous only in runs (patch merging's channel blocks of C, a multiple of the width) still
        /// vectorizes.
        /// </summary>
        public static AccessKind Along(IndexExpr offset, int variable, int width, IReadOnlyList<Dim> extents)
        {
            if (variable < 0 || !offset.Uses(variable)) return AccessKind.Invariant;
            var all = extents.ToList();
            long extent = variable < all.Count && !all[variable].Dynamic ? all[variable].Value : 0;
            if (extent == 0 || extent % width != 0) return AccessKind.Gather;
            int w = all.Count, e = all.Count + 1;
            all.Add(Dim.Static(extent / width));
            all.Add(Dim.Static(width));
            var algebra = new IndexAlgebra(all);
            var chunked = algebra.Substitute(offset, k => k == variable ? algebra.Add(algebra.Scale(IndexExpr.Var(w), width), IndexExpr.Var(e)) : IndexExpr.Var(k));
            bool unit = false;
            foreach (var t in chunked.Terms)
            {
                if (!t.Factors.Any(f => f.Uses(e)))
                {
                    if (t.Coef % width != 0) return AccessKind.Gather;
                    continue;
                }
                if (t.Coef != 1 || t.Factors.Count != 1 || t.Factors[0].Kind != IndexAtomKind.Var || unit) return AccessKind.Gather;
                unit = true;
            }
            return unit && chunked.Constant % width == 0 ? AccessKind.Vector : AccessKind.Gather;
        }

        /// <summary>
        /// The share of steps along <paramref name="variable"/> (from 0, the other variables at 0) that move the address by one
        /// element: near 1 for rows read in order, 0 for a strided walk. Decides whether lanes share a row or threads walk columns.
        /// </summary>
        public static double UnitSteps(IndexExpr offset, int variable, long extent, int variables)
        {
            if (!offset.Uses(variable) || extent < 2) return 1;
            var values = new long[variables];
            long steps = System.Math.Min(extent - 1, 64), unit = 0;
            long previous = IndexEval.Evaluate(offset, values, 1);
            for (long i = 1; i <= steps; i++)
            {
                values[variable] = i;
                long next = IndexEval.Evaluate(offset, values, 1);
                if (next - previous == 1) unit++;
                previous = next;
            }
            return (double)unit / steps;
        }
    }

    /// <summary>Evaluates index expressions on integers (the CPU interpreter and the printers' checks).</summary>
    internal static class IndexEval
    {
        /// <summary>
        /// MethodImplOptions.AggressiveOptimization, by value: netstandard2.0 (the generator compiles this file too) does not name it.
        /// The CPU interpreter evaluates these per row, so they are compiled fully optimized at first call, as its row loop is.
        /// </summary>
        private const System.Runtime.CompilerServices.MethodImplOptions AggressiveOptimization = (System.Runtime.CompilerServices.MethodImplOptions)512;

        [System.Runtime.CompilerServices.MethodImpl(AggressiveOptimization)]
        public static long Evaluate(IndexExpr e, long[] variables, long batch)
        {
            long sum = e.Constant;
            foreach (var t in e.Terms)
            {
                long p = t.Coef;
                foreach (var f in t.Factors) p *= Evaluate(f, variables, batch);
                sum += p;
            }
            return sum;
        }

        [System.Runtime.CompilerServices.MethodImpl(AggressiveOptimization)]
        private static long Evaluate(IndexAtom a, long[] variables, long batch) => a.Kind switch
        {
            IndexAtomKind.Var => variables[a.Variable],
            IndexAtomKind.Batch => batch,
            IndexAtomKind.Div => IndexAlgebra.FloorDiv(Evaluate(a.A!, variables, batch), Evaluate(a.D!, variables, batch)),
            _ => Mod(Evaluate(a.A!, variables, batch), Evaluate(a.D!, variables, batch)),
        };

        private static long Mod(long a, long d)
        {
            long m = a % d;
            return m < 0 ? m + d : m;
        }
    }
}
