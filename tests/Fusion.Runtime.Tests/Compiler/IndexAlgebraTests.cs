using Fusion.Compiler;
using Fusion.Testing;
using CDim = Fusion.Compiler.Dim;

namespace Fusion.Runtime.Tests.Compiler;

/// <summary>
/// The index algebra against plain integer arithmetic: every simplified expression must evaluate, at every point of its
/// variables' ranges, to what the unsimplified arithmetic gives, and its text must parse back to the same record.
/// </summary>
public class IndexAlgebraTests
{
    /// <summary>
    /// Random expression trees over 2–4 variables (one of them a multiple of the batch N) built twice: through
    /// <see cref="IndexAlgebra"/> (simplified) and as plain floor arithmetic. Both must agree at every point of the domain
    /// for N = 1, 2, 3, the simplified value must lie in <see cref="IndexAlgebra.Range"/>, and printing must round-trip.
    /// </summary>
    [Fact]
    public void SimplifiedExpressionsEvaluateLikeTheirArithmetic()
    {
        int seed = TestData.NewSeed();
        var random = new Random(seed);
        for (int round = 0; round < 40; round++)
        {
            var space = IndexSpace.Random(random);
            for (int i = 0; i < 30; i++)
            {
                var e = space.Generate(random, depth: 4);
                space.AssertAgrees(e, $"seed {seed}, round {round}");
                var range = space.Algebra.Range(e.Simplified);
                foreach (var (values, batch) in space.Points)
                {
                    long v = IndexEval.Evaluate(e.Simplified, values, batch);
                    Assert.True(v >= range.Lo && v <= range.Hi,
                        $"{e.Simplified} = {v} at {space.Describe(values, batch)} is outside its range [{range.Lo}, {range.Hi}] (seed {seed})");
                }
                Assert.Equal(e.Simplified, IndexText.Parse(IndexText.Print(e.Simplified)));
            }
        }
    }

    /// <summary>
    /// Substitution (how views compose): replacing every variable by an expression that stays within that variable's extent
    /// must give what evaluating the original at the substituted values gives.
    /// </summary>
    [Fact]
    public void SubstitutionComposesLikeFunctionComposition()
    {
        int seed = TestData.NewSeed();
        var random = new Random(seed);
        for (int round = 0; round < 40; round++)
        {
            var space = IndexSpace.Random(random);
            for (int i = 0; i < 15; i++)
            {
                var outer = space.Generate(random, depth: 3);
                // Each variable's replacement is reduced into its extent, as a view's read index is.
                var inner = Enumerable.Range(0, space.Extents.Count).Select(v => space.IntoExtent(random, v)).ToArray();
                var substituted = space.Algebra.Substitute(outer.Simplified, v => inner[v].Simplified);
                var exact = new Func<long[], long, long>((values, batch) =>
                    outer.Exact(inner.Select(f => f.Exact(values, batch)).ToArray(), batch));
                space.AssertAgrees(new Sample(substituted, exact, $"{outer.Text} ∘ ({string.Join(", ", inner.Select(f => f.Text))})"),
                    $"seed {seed}, round {round}");
            }
        }
    }

    [Theory]
    [InlineData(new long[] { 3, 5, 7 }, false)]
    [InlineData(new long[] { 1, 14, 14, 13 }, true)]
    [InlineData(new long[] { 4, 49, 13 }, true)]
    [InlineData(new long[] { 7, 2, 9 }, false)]
    public void ReshapeRoundTripsCollapseToThePlainIndex(long[] sizes, bool batched)
    {
        var shape = sizes.Select((s, i) => i == 0 && batched ? CDim.Batch(s) : CDim.Static(s)).ToArray();
        long elements = sizes.Aggregate(1L, (p, s) => p * s);
        // A flat index unravelled into the shape and raveled back is the flat index again …
        var flatAlgebra = new IndexAlgebra([batched ? CDim.Batch(elements) : CDim.Static(elements)]);
        var flat = IndexExpr.Var(0);
        Assert.Equal(flat, Layout.Offset(Layout.Unravel(flat, shape, flatAlgebra), shape, flatAlgebra));
        // … and a multi-index raveled and unravelled is the multi-index again.
        var algebra = new IndexAlgebra(shape);
        var index = Enumerable.Range(0, shape.Length).Select(IndexExpr.Var).ToArray();
        Assert.Equal(index, Layout.Unravel(Layout.Offset(index, shape, algebra), shape, algebra));
    }

    [Fact]
    public void ReshapeRoundTripThroughASizeOneAxisReadsTheSameElements()
    {
        // With a size-1 axis the result is not the plain index (v1 is not folded to 0: [v0 + v1, 0, v2]), but it must read the
        // same element at every point.
        CDim[] shape = [CDim.Batch(7), CDim.Static(1), CDim.Static(9)];
        var algebra = new IndexAlgebra(shape);
        var index = Enumerable.Range(0, 3).Select(IndexExpr.Var).ToArray();
        var back = Layout.Unravel(Layout.Offset(index, shape, algebra), shape, algebra);
        AssertReadsIdentity(shape, back);
    }

    [Fact]
    public void ReshapeThroughAnotherShapeAndBackReadsThePlainIndex()
    {
        // [N, 14, 14, 13] read as [N, 196, 13] and back: Swin's token flattening around a window partition.
        var image = new[] { CDim.Batch(), CDim.Static(14), CDim.Static(14), CDim.Static(13) };
        var tokens = new[] { CDim.Batch(), CDim.Static(196), CDim.Static(13) };
        var algebra = new IndexAlgebra(image);
        var index = Enumerable.Range(0, 4).Select(IndexExpr.Var).ToArray();
        var asTokens = Layout.Unravel(Layout.Offset(index, image, algebra), tokens, algebra);
        var back = Layout.Unravel(Layout.Offset(asTokens, tokens, algebra), image, algebra);
        Assert.Equal(index, back);
    }

    [Theory]
    [InlineData(14, 14, 7, 13, true)]
    [InlineData(6, 9, 3, 5, false)]
    [InlineData(4, 4, 1, 3, true)]
    public void WindowPartitionThenReverseReadsTheIdentity(int height, int width, int window, int channels, bool batched)
    {
        // The output of WindowReverse(WindowPartition(x)) at (b, i, j, c) reads x at (b, i, j, c).
        var (image, windows, partitionAttributes, reverseAttributes) = WindowedImage(height, width, window, channels, batched);
        var algebra = new IndexAlgebra(image);
        var index = Enumerable.Range(0, 4).Select(IndexExpr.Var).ToArray();
        var inWindows = Ops.WindowReverse.Read(new ViewQuery([windows], image, reverseAttributes, index, algebra)).Pieces.Single().Index;
        var inImage = Ops.WindowPartition.Read(new ViewQuery([image], windows, partitionAttributes, inWindows, algebra)).Pieces.Single().Index;
        Assert.Equal(string.Join(", ", index.Select(i => i.ToString())), string.Join(", ", inImage.Select(i => i.ToString())));
    }

    [Fact]
    public void RollThenInverseRollReadsTheIdentity()
    {
        // Not simplified to the plain index (((v1 + 6) mod 9 + 3) mod 9 stays as it is) but equal to it everywhere.
        CDim[] shape = [CDim.Batch(), CDim.Static(9), CDim.Static(7), CDim.Static(5)];
        var algebra = new IndexAlgebra(shape);
        var index = Enumerable.Range(0, 4).Select(IndexExpr.Var).ToArray();
        IndexExpr[] Roll(IndexExpr[] at, long shift) => Ops.Roll.Read(new ViewQuery([shape], shape,
            AttributeSet.Of(OpAttribute.Int("shift", shift), OpAttribute.IntList("axes", [1, 2])), at, algebra)).Pieces.Single().Index;
        AssertReadsIdentity(shape, Roll(Roll(index, 3), -3));
        AssertReadsIdentity(shape, Roll(Roll(index, -4), 67)); // −4 + 67 = 63 ≡ 0 modulo both 9 and 7
    }

    /// <summary>
    /// ViewOp.Forward, where a GEMM epilogue stores through a view (ViewsInGemmEpilogue): the window reverse's and the roll's forward
    /// index read back through the view is the input index at every point (odd sizes, a non-square image, shifts of either sign).
    /// </summary>
    [Theory]
    [InlineData(14, 14, 7, 13, true)]
    [InlineData(6, 9, 3, 5, false)]
    [InlineData(8, 12, 4, 3, true)]
    public void WindowReverseForwardIsTheInverseOfItsRead(int height, int width, int window, int channels, bool batched)
    {
        var (image, windows, _, attributes) = WindowedImage(height, width, window, channels, batched);
        var algebra = new IndexAlgebra(windows);
        var index = Enumerable.Range(0, 3).Select(IndexExpr.Var).ToArray();
        var forward = Ops.WindowReverse.Forward(new ViewQuery([windows], image, attributes, index, algebra)) ?? throw new InvalidOperationException("no forward index");
        AssertReadsIdentity(windows, Ops.WindowReverse.Read(new ViewQuery([windows], image, attributes, forward, algebra)).Pieces.Single().Index);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(-4)]
    [InlineData(67)]
    public void RollForwardIsTheInverseOfItsRead(long shift)
    {
        CDim[] shape = [CDim.Batch(), CDim.Static(9), CDim.Static(7), CDim.Static(5)];
        var attributes = AttributeSet.Of(OpAttribute.Int("shift", shift), OpAttribute.IntList("axes", [1, 2]));
        var algebra = new IndexAlgebra(shape);
        var index = Enumerable.Range(0, 4).Select(IndexExpr.Var).ToArray();
        var forward = Ops.Roll.Forward(new ViewQuery([shape], shape, attributes, index, algebra)) ?? throw new InvalidOperationException("no forward index");
        AssertReadsIdentity(shape, Ops.Roll.Read(new ViewQuery([shape], shape, attributes, forward, algebra)).Pieces.Single().Index);
    }

    /// <summary>
    /// An image [N or 2, height, width, channels], its window partition's shape and the partition's and the reverse's attributes.
    /// </summary>
    private static (CDim[] Image, CDim[] Windows, AttributeSet Partition, AttributeSet Reverse) WindowedImage(int height, int width, int window,
        int channels, bool batched)
    {
        var image = new[] { batched ? CDim.Batch() : CDim.Static(2), CDim.Static(height), CDim.Static(width), CDim.Static(channels) };
        var partition = AttributeSet.Of(OpAttribute.Int("window", window));
        var windows = Ops.WindowPartition.InferShape([image], partition, out var error) ?? throw new InvalidOperationException(error);
        return (image, windows, partition, AttributeSet.Of(OpAttribute.Int("window", window), OpAttribute.Int("height", height), OpAttribute.Int("width", width)));
    }

    /// <summary>Asserts that <paramref name="read"/> evaluates to the loop index at every point of <paramref name="shape"/> (N = 1, 2).</summary>
    private static void AssertReadsIdentity(CDim[] shape, IndexExpr[] read)
    {
        for (long batch = 1; batch <= 2; batch++)
        {
            var sizes = shape.Select(d => d.At(batch)).ToArray();
            foreach (var point in RefTensor.Indices(sizes.Select(s => (int)s).ToArray()))
            {
                var values = point.Select(p => (long)p).ToArray();
                for (int axis = 0; axis < read.Length; axis++)
                {
                    long v = IndexEval.Evaluate(read[axis], values, batch);
                    if (v != values[axis])
                        Assert.Fail($"axis {axis} reads {read[axis]} = {v}, not {values[axis]}, at ({string.Join(", ", values)}), N={batch}");
                }
            }
        }
    }

    [Theory]
    [InlineData(1, 4)]
    [InlineData(3, 7)]
    [InlineData(-2, 5)]
    public void RecombineJoinsSplitDigits(long c, long k)
    {
        // c·(y mod k) + c·k·⌊y / k⌋ = c·y, for y a variable and for y an affine expression of two variables.
        var algebra = new IndexAlgebra([CDim.Static(60), CDim.Static(6)]);
        foreach (var y in new[] { IndexExpr.Var(0), algebra.Add(algebra.Scale(IndexExpr.Var(0), 6), IndexExpr.Var(1)) })
        {
            var digits = algebra.Add(algebra.Scale(algebra.Mod(y, k), c), algebra.Scale(algebra.Div(y, k), c * k));
            Assert.Equal(algebra.Scale(y, c), digits);
            // In either order of the sum.
            var reversed = algebra.Add(algebra.Scale(algebra.Div(y, k), c * k), algebra.Scale(algebra.Mod(y, k), c));
            Assert.Equal(algebra.Scale(y, c), reversed);
        }
    }

    [Fact]
    public void DivisionAndRemainderSimplifyWithTheVariablesRanges()
    {
        var algebra = new IndexAlgebra([CDim.Static(7), CDim.Static(5), CDim.Batch()]);
        var (v0, v1, v2) = (IndexExpr.Var(0), IndexExpr.Var(1), IndexExpr.Var(2));
        var row = algebra.Add(algebra.Scale(v0, 5), v1); // 0 ≤ 5·v0 + v1 < 35
        Assert.Equal(v0, algebra.Div(row, 5));
        Assert.Equal(v1, algebra.Mod(row, 5));
        Assert.Equal(IndexExpr.Zero, algebra.Div(v1, 5));
        Assert.Equal(v1, algebra.Mod(v1, 5));
        // ⌊⌊x / 5⌋ / 7⌋ = ⌊x / 35⌋ and (x mod 35) mod 5 = x mod 5 for the unbounded batch variable.
        Assert.Equal(algebra.Div(v2, 35), algebra.Div(algebra.Div(v2, 5), 7));
        Assert.Equal(algebra.Mod(v2, 5), algebra.Mod(algebra.Mod(v2, 35), 5));
        // An unbounded variable keeps its division.
        Assert.Equal("(v2 / 5)", algebra.Div(v2, 5).ToString());
    }

    [Theory]
    [InlineData("4*v0 + (v1 / 3) - 2")]
    [InlineData("-v0 + 3*N*v1 + ((v2 + 1) % 7)")]
    [InlineData("(((v0 / 4) % 3) / (2*N))")]
    [InlineData("-5")]
    [InlineData("0")]
    public void TextParsesBackToTheSameExpression(string text)
    {
        var e = IndexText.Parse(text);
        Assert.Equal(e, IndexText.Parse(IndexText.Print(e)));
        Assert.Equal(IndexText.Print(e), IndexText.Print(IndexText.Parse(IndexText.Print(e))));
    }

    [Theory]
    [InlineData("v0 +")]
    [InlineData("(v0 / 4")]
    [InlineData("v0 $ 2")]
    [InlineData("x1")]
    [InlineData("v0 + 99999999999999999999")]
    public void MalformedTextThrowsFormatExceptionNamingTheText(string text)
    {
        var e = Assert.Throws<FormatException>(() => IndexText.Parse(text));
        Assert.Contains(text, e.Message);
    }

    /// <summary>An expression built both ways: simplified by the algebra and as plain integer arithmetic.</summary>
    private sealed record Sample(IndexExpr Simplified, Func<long[], long, long> Exact, string Text);

    /// <summary>Variables with extents (one a multiple of N), their algebra, and every point of the domain for N = 1, 2, 3.</summary>
    private sealed class IndexSpace
    {
        private IndexSpace(IReadOnlyList<CDim> extents)
        {
            Extents = extents;
            Algebra = new IndexAlgebra(extents);
            var points = new List<(long[], long)>();
            for (long batch = 1; batch <= 3; batch++)
            {
                var sizes = extents.Select(d => d.At(batch)).ToArray();
                long count = sizes.Aggregate(1L, (p, s) => p * s);
                for (long flat = 0; flat < count; flat++)
                {
                    var values = new long[sizes.Length];
                    long rest = flat;
                    for (int i = sizes.Length - 1; i >= 0; i--)
                    {
                        values[i] = rest % sizes[i];
                        rest /= sizes[i];
                    }
                    points.Add((values, batch));
                }
            }
            Points = points;
        }

        public IReadOnlyList<CDim> Extents { get; }

        public IndexAlgebra Algebra { get; }

        public IReadOnlyList<(long[] Values, long Batch)> Points { get; }

        /// <summary>2–4 variables of extents 1–7, one of them dynamic (1–3 times N) at a random position.</summary>
        public static IndexSpace Random(Random random)
        {
            int count = random.Next(2, 5);
            int dynamic = random.Next(count);
            return new IndexSpace(Enumerable.Range(0, count)
                .Select(i => i == dynamic ? CDim.Batch(random.Next(1, 4)) : CDim.Static(random.Next(1, 8))).ToArray());
        }

        public Sample Generate(Random random, int depth)
        {
            var a = Algebra;
            if (depth <= 0 || random.Next(5) == 0)
            {
                switch (random.Next(6))
                {
                    case 0:
                        long c = random.Next(0, 13);
                        return new Sample(IndexExpr.Const(c), (_, _) => c, c.ToString());
                    case 1:
                        return new Sample(IndexExpr.Batch, (_, n) => n, "N");
                    default:
                        int v = random.Next(Extents.Count);
                        return new Sample(IndexExpr.Var(v), (x, _) => x[v], "v" + v);
                }
            }
            var l = Generate(random, depth - 1);
            switch (random.Next(8))
            {
                case 0:
                    {
                        var r = Generate(random, depth - 1);
                        return new Sample(a.Add(l.Simplified, r.Simplified), (x, n) => l.Exact(x, n) + r.Exact(x, n), $"({l.Text} + {r.Text})");
                    }
                case 1:
                    {
                        long k = random.Next(-3, 7);
                        return new Sample(a.Scale(l.Simplified, k), (x, n) => k * l.Exact(x, n), $"{k}·{l.Text}");
                    }
                case 2:
                    {
                        long k = random.Next(-9, 10);
                        return new Sample(a.Add(l.Simplified, k), (x, n) => l.Exact(x, n) + k, $"({l.Text} + {k})");
                    }
                case 3:
                    {
                        var r = Generate(random, depth - 2);
                        return new Sample(a.Multiply(l.Simplified, r.Simplified), (x, n) => l.Exact(x, n) * r.Exact(x, n), $"({l.Text})·({r.Text})");
                    }
                case 4:
                case 5:
                    {
                        var operand = NonNegative(l);
                        long d = random.Next(1, 13);
                        return random.Next(2) == 0
                            ? new Sample(a.Div(operand.Simplified, d), (x, n) => IndexAlgebra.FloorDiv(operand.Exact(x, n), d), $"⌊{operand.Text} / {d}⌋")
                            : new Sample(a.Mod(operand.Simplified, d), (x, n) => FloorMod(operand.Exact(x, n), d), $"({operand.Text} mod {d})");
                    }
                case 6:
                    {
                        // A divisor that carries the batch, as the strides of a batched shape do.
                        var operand = NonNegative(l);
                        long f = random.Next(1, 4);
                        var divisor = a.Scale(IndexExpr.Batch, f);
                        return random.Next(2) == 0
                            ? new Sample(a.Div(operand.Simplified, divisor), (x, n) => IndexAlgebra.FloorDiv(operand.Exact(x, n), f * n), $"⌊{operand.Text} / {f}N⌋")
                            : new Sample(a.Mod(operand.Simplified, divisor), (x, n) => FloorMod(operand.Exact(x, n), f * n), $"({operand.Text} mod {f}N)");
                    }
                default:
                    {
                        // Split digits, as a reshape writes them: c·(y mod k) + c·k·⌊y / k⌋.
                        var y = NonNegative(l);
                        long k = random.Next(1, 8), c = random.Next(1, 5);
                        var digits = a.Add(a.Scale(a.Mod(y.Simplified, k), c), a.Scale(a.Div(y.Simplified, k), c * k));
                        return new Sample(digits, (x, n) => c * FloorMod(y.Exact(x, n), k) + c * k * IndexAlgebra.FloorDiv(y.Exact(x, n), k),
                            $"{c}·({y.Text} mod {k}) + {c * k}·⌊{y.Text} / {k}⌋");
                    }
            }
        }

        /// <summary>A random expression reduced into [0, extent of <paramref name="variable"/>), so it may stand for that variable.</summary>
        public Sample IntoExtent(Random random, int variable)
        {
            var e = NonNegative(Generate(random, depth: 2));
            var extent = Extents[variable];
            if (!extent.Dynamic)
            {
                long d = extent.Value;
                return new Sample(Algebra.Mod(e.Simplified, d), (x, n) => FloorMod(e.Exact(x, n), d), $"({e.Text} mod {d})");
            }
            var divisor = Algebra.Scale(IndexExpr.Batch, extent.Value);
            return new Sample(Algebra.Mod(e.Simplified, divisor), (x, n) => FloorMod(e.Exact(x, n), extent.Value * n), $"({e.Text} mod {extent})");
        }

        /// <summary>
        /// The expression shifted by a constant so it is non-negative at every point (the algebra's division and remainder are
        /// defined for non-negative operands: kernels guard the rest).
        /// </summary>
        private Sample NonNegative(Sample e)
        {
            long min = Points.Min(p => e.Exact(p.Values, p.Batch));
            if (min >= 0) return e;
            return new Sample(Algebra.Add(e.Simplified, -min), (x, n) => e.Exact(x, n) - min, $"({e.Text} + {-min})");
        }

        public void AssertAgrees(Sample e, string context)
        {
            foreach (var (values, batch) in Points)
            {
                long exact = e.Exact(values, batch), simplified = IndexEval.Evaluate(e.Simplified, values, batch);
                if (exact != simplified)
                    Assert.Fail($"{e.Text} simplified to {e.Simplified} gives {simplified}, not {exact}, at {Describe(values, batch)} " +
                        $"(extents [{string.Join(", ", Extents)}]; {context})");
            }
        }

        public string Describe(long[] values, long batch) => string.Join(", ", values.Select((v, i) => $"v{i}={v}")) + $", N={batch}";

        private static long FloorMod(long a, long d)
        {
            long m = a % d;
            return m < 0 ? m + d : m;
        }
    }
}
