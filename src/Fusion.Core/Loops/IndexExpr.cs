using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace Fusion.Compiler
{
    /// <summary>
    /// An integer index expression over a kernel's loop variables and the run-time batch N, kept in one canonical
    /// form: a constant plus a sum of terms, each a coefficient times a product of atoms (a variable, N, or a floor
    /// division or remainder of another expression). Views (reshape, permute, roll, window layouts, …) compose by
    /// substituting these expressions, and <see cref="IndexAlgebra"/> simplifies them with the variables' ranges,
    /// so a reshape followed by its inverse reads the plain index again. Every expression a kernel evaluates is
    /// non-negative wherever it is evaluated (guards skip the rest), so floor and C division agree.
    /// </summary>
    internal sealed record IndexExpr(long Constant, EquatableArray<IndexTerm> Terms)
    {
        public static readonly IndexExpr Zero = new(0, EquatableArray<IndexTerm>.Empty);

        public static IndexExpr Const(long value) => new(value, EquatableArray<IndexTerm>.Empty);

        public static IndexExpr Var(int variable) => Atom(new IndexAtom(IndexAtomKind.Var, variable, null, null));

        public static readonly IndexExpr Batch = Atom(new IndexAtom(IndexAtomKind.Batch, 0, null, null));

        public static IndexExpr Atom(IndexAtom atom) => new(0, EquatableArray.Of(new IndexTerm(1, EquatableArray.Of(atom))));

        public bool IsConstant => Terms.Count == 0;

        /// <summary>The variable when this is exactly one variable (coefficient 1, no constant); else -1.</summary>
        public int AsVariable => Constant == 0 && Terms.Count == 1 && Terms[0].Coef == 1 && Terms[0].Factors.Count == 1
            && Terms[0].Factors[0].Kind == IndexAtomKind.Var ? Terms[0].Factors[0].Variable : -1;

        /// <summary>Whether variable <paramref name="variable"/> occurs anywhere in the expression.</summary>
        public bool Uses(int variable) => Terms.Any(t => t.Factors.Any(f => f.Uses(variable)));

        public bool UsesBatch => Terms.Any(t => t.Factors.Any(f => f.UsesBatch));

        public override string ToString() => IndexText.Print(this);
    }

    /// <summary>Coef · Π factors.</summary>
    internal sealed record IndexTerm(long Coef, EquatableArray<IndexAtom> Factors)
    {
        /// <summary>A total order on the factors, so equal sums are equal records.</summary>
        public string Key => string.Join("*", Factors.Select(f => f.ToString()));
    }

    internal enum IndexAtomKind
    {
        Var,
        Batch,
        Div,
        Mod,
    }

    /// <summary>A variable, the batch N, or ⌊A / D⌋ or A mod D.</summary>
    internal sealed record IndexAtom(IndexAtomKind Kind, int Variable, IndexExpr? A, IndexExpr? D)
    {
        public bool Uses(int variable) => Kind switch
        {
            IndexAtomKind.Var => Variable == variable,
            IndexAtomKind.Batch => false,
            _ => A!.Uses(variable) || D!.Uses(variable),
        };

        public bool UsesBatch => Kind switch
        {
            IndexAtomKind.Var => false,
            IndexAtomKind.Batch => true,
            _ => A!.UsesBatch || D!.UsesBatch,
        };

        public override string ToString() => IndexText.Atom(this);
    }

    /// <summary>A closed interval of an expression's values; <see cref="long.MaxValue"/> as the upper end means unbounded.</summary>
    internal readonly record struct IndexRange(long Lo, long Hi)
    {
        public bool Within(long lo, long hiExclusive) => Lo >= lo && Hi != long.MaxValue && Hi < hiExclusive;
    }

    /// <summary>
    /// Arithmetic on <see cref="IndexExpr"/> with simplification. The extents of the loop variables give each
    /// expression a range; a division or remainder whose operand's range fits simplifies away.
    /// </summary>
    internal sealed class IndexAlgebra
    {
        private readonly IReadOnlyList<Dim> _extents;

        /// <param name="extents">The extent of each variable (variable i ranges over [0, extents[i])).</param>
        public IndexAlgebra(IReadOnlyList<Dim> extents) => _extents = extents;

        public IndexExpr Add(IndexExpr a, IndexExpr b) => Recombine(Normalize(a.Constant + b.Constant, a.Terms.Concat(b.Terms)));

        public IndexExpr Add(IndexExpr a, long b) => new(a.Constant + b, a.Terms);

        public IndexExpr Scale(IndexExpr a, long k) => k == 0 ? IndexExpr.Zero : Normalize(a.Constant * k, a.Terms.Select(t => t with { Coef = t.Coef * k }));

        public IndexExpr Multiply(IndexExpr a, IndexExpr b)
        {
            if (a.IsConstant) return Scale(b, a.Constant);
            if (b.IsConstant) return Scale(a, b.Constant);
            var terms = new List<IndexTerm>();
            foreach (var ta in a.Terms)
                foreach (var tb in b.Terms)
                    terms.Add(new IndexTerm(ta.Coef * tb.Coef, SortFactors(ta.Factors.Concat(tb.Factors))));
            foreach (var tb in b.Terms) terms.Add(tb with { Coef = tb.Coef * a.Constant });
            foreach (var ta in a.Terms) terms.Add(ta with { Coef = ta.Coef * b.Constant });
            return Normalize(a.Constant * b.Constant, terms);
        }

        /// <summary>⌊a / d⌋ for a ≥ 0 and d ≥ 1.</summary>
        public IndexExpr Div(IndexExpr a, IndexExpr d)
        {
            if (!d.IsConstant) return a.IsConstant && a.Constant == 0 ? IndexExpr.Zero : IndexExpr.Atom(new IndexAtom(IndexAtomKind.Div, 0, a, d));
            return Div(a, d.Constant);
        }

        public IndexExpr Div(IndexExpr a, long d)
        {
            if (d <= 0) throw new ArgumentOutOfRangeException(nameof(d), "index divisor must be positive");
            if (d == 1) return a;
            if (a.IsConstant) return IndexExpr.Const(FloorDiv(a.Constant, d));
            var (quotient, rest) = SplitMultiples(a, d);
            if (rest.Terms.Count == 0 && rest.Constant == 0) return quotient;
            var range = Range(rest);
            if (range.Lo >= 0)
            {
                if (range.Within(0, d)) return quotient;
                // rest = g·x + s with 0 ≤ s < g and g | d: ⌊rest / d⌋ = ⌊x / (d / g)⌋.
                if (CommonFactor(rest, d) is { } split) return Add(quotient, Div(split.Multiple, d / split.Factor));
                // ⌊⌊x / e⌋ / d⌋ = ⌊x / (e·d)⌋.
                if (rest.Constant == 0 && rest.Terms.Count == 1 && rest.Terms[0].Coef == 1 && rest.Terms[0].Factors.Count == 1
                    && rest.Terms[0].Factors[0] is { Kind: IndexAtomKind.Div, D.IsConstant: true } inner)
                    return Add(quotient, Div(inner.A!, inner.D!.Constant * d));
                return Add(quotient, IndexExpr.Atom(new IndexAtom(IndexAtomKind.Div, 0, rest, IndexExpr.Const(d))));
            }
            return IndexExpr.Atom(new IndexAtom(IndexAtomKind.Div, 0, a, IndexExpr.Const(d)));
        }

        /// <summary>a mod d for a ≥ 0 and d ≥ 1.</summary>
        public IndexExpr Mod(IndexExpr a, IndexExpr d)
        {
            if (!d.IsConstant) return IndexExpr.Atom(new IndexAtom(IndexAtomKind.Mod, 0, a, d));
            return Mod(a, d.Constant);
        }

        public IndexExpr Mod(IndexExpr a, long d)
        {
            if (d <= 0) throw new ArgumentOutOfRangeException(nameof(d), "index divisor must be positive");
            if (d == 1) return IndexExpr.Zero;
            if (a.IsConstant) return IndexExpr.Const(((a.Constant % d) + d) % d);
            var (_, rest) = SplitMultiples(a, d);
            var range = Range(rest);
            if (range.Lo < 0) return IndexExpr.Atom(new IndexAtom(IndexAtomKind.Mod, 0, a, IndexExpr.Const(d)));
            if (range.Within(0, d)) return rest;
            // rest = g·x + s with 0 ≤ s < g and g | d: rest mod d = g·(x mod d/g) + s.
            if (CommonFactor(rest, d) is { } split) return Add(Scale(Mod(split.Multiple, d / split.Factor), split.Factor), split.Small);
            // (x mod e) mod d = x mod d when d | e.
            if (rest.Constant == 0 && rest.Terms.Count == 1 && rest.Terms[0].Coef == 1 && rest.Terms[0].Factors.Count == 1
                && rest.Terms[0].Factors[0] is { Kind: IndexAtomKind.Mod, D.IsConstant: true } inner && inner.D!.Constant % d == 0)
                return Mod(inner.A!, d);
            return IndexExpr.Atom(new IndexAtom(IndexAtomKind.Mod, 0, rest, IndexExpr.Const(d)));
        }

        /// <summary>Replaces each variable v by <paramref name="values"/>[v] (re-simplified in this algebra's ranges).</summary>
        public IndexExpr Substitute(IndexExpr e, Func<int, IndexExpr> values)
        {
            var result = IndexExpr.Const(e.Constant);
            foreach (var term in e.Terms)
            {
                var product = IndexExpr.Const(term.Coef);
                foreach (var f in term.Factors) product = Multiply(product, Substitute(f, values));
                result = Add(result, product);
            }
            return result;
        }

        private IndexExpr Substitute(IndexAtom atom, Func<int, IndexExpr> values) => atom.Kind switch
        {
            IndexAtomKind.Var => values(atom.Variable),
            IndexAtomKind.Batch => IndexExpr.Batch,
            IndexAtomKind.Div => Div(Substitute(atom.A!, values), Substitute(atom.D!, values)),
            _ => Mod(Substitute(atom.A!, values), Substitute(atom.D!, values)),
        };

        /// <summary>The interval of values <paramref name="e"/> takes over the variables' extents (N ≥ 1, unbounded).</summary>
        public IndexRange Range(IndexExpr e)
        {
            long lo = e.Constant, hi = e.Constant;
            foreach (var term in e.Terms)
            {
                var r = Range(term);
                if (term.Coef >= 0)
                {
                    lo = SaturatingAdd(lo, SaturatingMul(term.Coef, r.Lo));
                    hi = r.Hi == long.MaxValue || hi == long.MaxValue ? long.MaxValue : SaturatingAdd(hi, SaturatingMul(term.Coef, r.Hi));
                }
                else
                {
                    lo = r.Hi == long.MaxValue || lo == long.MinValue ? long.MinValue : SaturatingAdd(lo, SaturatingMul(term.Coef, r.Hi));
                    hi = hi == long.MaxValue ? long.MaxValue : SaturatingAdd(hi, SaturatingMul(term.Coef, r.Lo));
                }
            }
            return new IndexRange(lo, hi);
        }

        private IndexRange Range(IndexTerm term)
        {
            long lo = 1, hi = 1;
            foreach (var f in term.Factors)
            {
                var r = Range(f);
                lo = SaturatingMul(lo, r.Lo);
                hi = hi == long.MaxValue || r.Hi == long.MaxValue ? long.MaxValue : SaturatingMul(hi, r.Hi);
            }
            return new IndexRange(lo, hi);
        }

        private IndexRange Range(IndexAtom atom)
        {
            switch (atom.Kind)
            {
                case IndexAtomKind.Var:
                    var extent = atom.Variable < _extents.Count ? _extents[atom.Variable] : Dim.Batch();
                    return extent.Dynamic ? new IndexRange(0, long.MaxValue) : new IndexRange(0, Math.Max(0, extent.Value - 1));
                case IndexAtomKind.Batch:
                    return new IndexRange(1, long.MaxValue);
                case IndexAtomKind.Div:
                    {
                        var a = Range(atom.A!);
                        var d = Range(atom.D!);
                        return new IndexRange(d.Hi == long.MaxValue ? 0 : FloorDiv(Math.Max(0, a.Lo), Math.Max(1, d.Hi)),
                            a.Hi == long.MaxValue ? long.MaxValue : FloorDiv(a.Hi, Math.Max(1, d.Lo)));
                    }
                default:
                    {
                        var d = Range(atom.D!);
                        var a = Range(atom.A!);
                        long hi = d.Hi == long.MaxValue ? a.Hi : d.Hi - 1;
                        if (a.Hi != long.MaxValue && a.Hi < hi) hi = a.Hi;
                        return new IndexRange(0, hi);
                    }
            }
        }

        /// <summary>
        /// Puts split digits back together: c·(y mod k) + c·k·⌊y / k⌋ = c·y (y ≥ 0), repeatedly, so a row-major offset of an index
        /// that was itself unravelled from a flat index (a reshape, a flattened GEMM row) is the flat index again.
        /// </summary>
        private IndexExpr Recombine(IndexExpr e)
        {
            for (bool changed = true; changed;)
            {
                changed = false;
                var terms = e.Terms;
                for (int i = 0; i < terms.Count && !changed; i++)
                {
                    var t = terms[i];
                    if (t.Factors.Count != 1 || t.Factors[0] is not { Kind: IndexAtomKind.Mod, D.IsConstant: true } mod) continue;
                    long k = mod.D!.Constant;
                    var quotient = Div(mod.A!, k);
                    if (quotient.Constant != 0 || quotient.Terms.Count != 1 || quotient.Terms[0].Coef != 1) continue;
                    var q = quotient.Terms[0];
                    for (int j = 0; j < terms.Count; j++)
                    {
                        if (j == i || terms[j].Coef != t.Coef * k || !terms[j].Factors.Equals(q.Factors)) continue;
                        var rest = terms.Where((_, n) => n != i && n != j);
                        e = Normalize(e.Constant, rest.Concat(Scale(mod.A!, t.Coef).Terms));
                        e = new IndexExpr(e.Constant + Scale(mod.A!, t.Coef).Constant, e.Terms);
                        changed = true;
                        break;
                    }
                }
            }
            return e;
        }

        /// <summary>Splits off the terms (and constant part) divisible by d: a = d·quotient + rest.</summary>
        private (IndexExpr Quotient, IndexExpr Remainder) SplitMultiples(IndexExpr a, long d)
        {
            var q = new List<IndexTerm>();
            var rest = new List<IndexTerm>();
            foreach (var t in a.Terms)
            {
                if (t.Coef % d == 0) q.Add(t with { Coef = t.Coef / d });
                else rest.Add(t);
            }
            long cq = a.Constant >= 0 ? a.Constant / d : 0;
            long cr = a.Constant - cq * d;
            return (Normalize(cq, q), Normalize(cr, rest));
        }

        /// <summary>
        /// The largest g &gt; 1 dividing d such that rest = g·Multiple + Small with 0 ≤ Small &lt; g (the terms with the
        /// largest coefficients form the multiple); null when there is none.
        /// </summary>
        private (long Factor, IndexExpr Multiple, IndexExpr Small)? CommonFactor(IndexExpr rest, long d)
        {
            var terms = rest.Terms.OrderByDescending(t => Math.Abs(t.Coef)).ToList();
            for (int j = terms.Count; j >= 1; j--)
            {
                long g = d;
                for (int i = 0; i < j; i++) g = Gcd(g, Math.Abs(terms[i].Coef));
                if (g <= 1) continue;
                var small = Normalize(rest.Constant % g, terms.Skip(j));
                if (rest.Constant < 0 || !Range(small).Within(0, g)) continue;
                var multiple = Normalize(rest.Constant / g, terms.Take(j).Select(t => t with { Coef = t.Coef / g }));
                if (Range(multiple).Lo < 0) continue;
                return (g, multiple, small);
            }
            return null;
        }

        /// <summary>Merges like terms, drops zero ones and sorts, so structurally equal sums are equal records.</summary>
        private static IndexExpr Normalize(long constant, IEnumerable<IndexTerm> terms)
        {
            var merged = new Dictionary<string, (long Coef, EquatableArray<IndexAtom> Factors)>(StringComparer.Ordinal);
            foreach (var t in terms)
            {
                var factors = SortFactors(t.Factors);
                var key = new IndexTerm(1, factors).Key;
                merged[key] = merged.TryGetValue(key, out var existing) ? (existing.Coef + t.Coef, factors) : (t.Coef, factors);
            }
            var list = merged.Where(kv => kv.Value.Coef != 0).OrderBy(kv => kv.Key, StringComparer.Ordinal)
                .Select(kv => new IndexTerm(kv.Value.Coef, kv.Value.Factors)).ToEquatableArray();
            return new IndexExpr(constant, list);
        }

        private static EquatableArray<IndexAtom> SortFactors(IEnumerable<IndexAtom> factors) =>
            factors.OrderBy(f => f.ToString(), StringComparer.Ordinal).ToEquatableArray();

        public static long FloorDiv(long a, long d) => a >= 0 ? a / d : -((-a + d - 1) / d);

        private static long Gcd(long a, long b)
        {
            while (b != 0) (a, b) = (b, a % b);
            return a;
        }

        private static long SaturatingAdd(long a, long b)
        {
            if (a == long.MaxValue || b == long.MaxValue) return long.MaxValue;
            if (a == long.MinValue || b == long.MinValue) return long.MinValue;
            long s = a + b;
            if (((a ^ s) & (b ^ s)) < 0) return a > 0 ? long.MaxValue : long.MinValue;
            return s;
        }

        private static long SaturatingMul(long a, long b)
        {
            if (a == 0 || b == 0) return 0;
            if (a == long.MaxValue || b == long.MaxValue || a == long.MinValue || b == long.MinValue)
                return (a > 0) == (b > 0) ? long.MaxValue : long.MinValue;
            long r = unchecked(a * b);
            if (r / b != a) return (a > 0) == (b > 0) ? long.MaxValue : long.MinValue;
            return r;
        }
    }

    /// <summary>
    /// The text form of index expressions: C syntax with every division and remainder parenthesized, so the same text is a
    /// valid C, CUDA and C# expression (v0, v1, … the loop variables, N the batch); parsed back into the same record.
    /// </summary>
    internal static class IndexText
    {
        public static string Print(IndexExpr e)
        {
            if (e.Terms.Count == 0) return e.Constant.ToString(CultureInfo.InvariantCulture);
            var s = new StringBuilder();
            for (int i = 0; i < e.Terms.Count; i++)
            {
                var t = e.Terms[i];
                long c = t.Coef;
                if (i > 0) s.Append(c < 0 ? " - " : " + ");
                else if (c < 0) s.Append('-');
                long abs = Math.Abs(c);
                if (abs != 1) s.Append(abs.ToString(CultureInfo.InvariantCulture)).Append('*');
                s.Append(string.Join("*", t.Factors.Select(Atom)));
            }
            if (e.Constant != 0) s.Append(e.Constant < 0 ? " - " : " + ").Append(Math.Abs(e.Constant).ToString(CultureInfo.InvariantCulture));
            return s.ToString();
        }

        public static string Atom(IndexAtom a) => a.Kind switch
        {
            IndexAtomKind.Var => "v" + a.Variable.ToString(CultureInfo.InvariantCulture),
            IndexAtomKind.Batch => "N",
            IndexAtomKind.Div => "(" + Operand(a.A!) + " / " + Operand(a.D!) + ")",
            _ => "(" + Operand(a.A!) + " % " + Operand(a.D!) + ")",
        };

        /// <summary>A constant or a lone atom as is; anything else in parentheses.</summary>
        private static string Operand(IndexExpr e) =>
            e.IsConstant && e.Constant >= 0 ? Print(e)
            : e.Constant == 0 && e.Terms.Count == 1 && e.Terms[0].Coef == 1 && e.Terms[0].Factors.Count == 1 ? Atom(e.Terms[0].Factors[0])
            : "(" + Print(e) + ")";

        /// <summary>Parses what <see cref="Print"/> writes back into the same canonical expression (no re-simplification).</summary>
        public static IndexExpr Parse(string text)
        {
            var p = new Parser(text);
            var e = p.Sum();
            p.End();
            return e;
        }

        /// <summary>Precedence climbing over + - (low) and * / % (high), building canonical sums without simplifying.</summary>
        private sealed class Parser(string text)
        {
            private static readonly IndexAlgebra Raw = new(Array.Empty<Dim>());
            private int _at;

            public void End()
            {
                Skip();
                if (_at != text.Length) throw Error("unexpected text");
            }

            public IndexExpr Sum()
            {
                Skip();
                bool negate = false;
                if (Peek('-')) { _at++; negate = true; }
                var e = Product();
                if (negate) e = Raw.Scale(e, -1);
                while (true)
                {
                    Skip();
                    if (Peek('+')) { _at++; e = Raw.Add(e, Product()); }
                    else if (Peek('-')) { _at++; e = Raw.Add(e, Raw.Scale(Product(), -1)); }
                    else return e;
                }
            }

            private IndexExpr Product()
            {
                var e = Primary();
                while (true)
                {
                    Skip();
                    if (Peek('*')) { _at++; e = Raw.Multiply(e, Primary()); }
                    else if (Peek('/')) { _at++; e = IndexExpr.Atom(new IndexAtom(IndexAtomKind.Div, 0, e, Primary())); }
                    else if (Peek('%')) { _at++; e = IndexExpr.Atom(new IndexAtom(IndexAtomKind.Mod, 0, e, Primary())); }
                    else return e;
                }
            }

            private IndexExpr Primary()
            {
                Skip();
                if (Peek('('))
                {
                    _at++;
                    var e = Sum();
                    Skip();
                    if (!Peek(')')) throw Error("expected ')'");
                    _at++;
                    return e;
                }
                if (Peek('v'))
                {
                    _at++;
                    return IndexExpr.Var((int)Number());
                }
                if (Peek('N'))
                {
                    _at++;
                    return IndexExpr.Batch;
                }
                return IndexExpr.Const(Number());
            }

            private long Number()
            {
                int start = _at;
                while (_at < text.Length && char.IsDigit(text[_at])) _at++;
                if (start == _at) throw Error("expected a number, v<k>, N or '('");
                return long.TryParse(text.Substring(start, _at - start), NumberStyles.None, CultureInfo.InvariantCulture, out long value)
                    ? value : throw Error("the number is too large");
            }

            private bool Peek(char c) => _at < text.Length && text[_at] == c;

            private void Skip()
            {
                while (_at < text.Length && text[_at] == ' ') _at++;
            }

            private FormatException Error(string why) => new($"index expression '{text}' at {_at}: {why}");
        }
    }
}
