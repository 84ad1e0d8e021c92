using Fusion.Compiler;
using Fusion.Testing;
using CDim = Fusion.Compiler.Dim;

namespace Fusion.Runtime.Tests.Compiler;

/// <summary>
/// <see cref="AccessPattern.Along"/> decides where the CUDA printer issues vector loads and stores, which clang cannot check:
/// a wrong "Vector" reads the wrong elements or misaligned addresses on the GPU. Its claims are checked here by evaluation:
/// Vector means that along the variable, in aligned chunks of the width, the offset is a multiple of the width plus the
/// position in the chunk; Invariant means the offset does not depend on the variable.
/// </summary>
public class AccessPatternTests
{
    [Fact]
    public void ClaimsHoldForEveryAccessOfTheLoweredKernels()
    {
        int vectors = 0;
        foreach (var kernel in Kernels())
        {
            var extents = kernel.VariableExtents;
            var offsets = kernel.Body.Select(i => i switch { LoadInstr l => l.Offset, StoreInstr s => s.Offset, _ => null }).OfType<IndexExpr>().Distinct();
            foreach (var offset in offsets)
                vectors += CheckClaims(offset, extents, $"{kernel.Name}: {offset}");
        }
        // Vector claims are the risky ones: the kernels must make some (C = 64, 96 and the channel blocks of 8 below).
        Assert.True(vectors >= 10, $"only {vectors} vector classifications were checked");
    }

    [Fact]
    public void ClaimsHoldForRandomStridedOffsets()
    {
        int seed = TestData.NewSeed();
        var random = new Random(seed);
        int vectors = 0;
        for (int round = 0; round < 300; round++)
        {
            // Two or three variables, extents multiples of 2, 4 or 8 (or of 3), offsets Σ stride·digit with digits that may be a
            // variable, a quotient or a remainder of one; one variable (usually) has stride 1, the others strides that are
            // mostly multiples of 8, as row-major layouts and their views give.
            var extents = Enumerable.Range(0, random.Next(2, 4)).Select(_ => CDim.Static(random.Next(1, 4) * new[] { 2, 4, 8, 3 }[random.Next(4)])).ToArray();
            var a = new IndexAlgebra(extents);
            int unit = random.Next(extents.Length);
            var offset = IndexExpr.Const(random.Next(3) == 0 ? random.Next(0, 17) : 0);
            for (int v = 0; v < extents.Length; v++)
            {
                var digit = random.Next(4) switch
                {
                    0 => a.Div(IndexExpr.Var(v), random.Next(1, 9)),
                    1 => a.Mod(IndexExpr.Var(v), random.Next(1, 9)),
                    _ => IndexExpr.Var(v),
                };
                long stride = v == unit && random.Next(5) != 0 ? 1 : random.Next(4) == 0 ? random.Next(1, 5) : random.Next(1, 5) * 8;
                offset = a.Add(offset, a.Scale(digit, stride));
            }
            vectors += CheckClaims(offset, extents, $"{offset} over [{string.Join(", ", extents)}] (seed {seed})");
        }
        Assert.True(vectors >= 50, $"only {vectors} vector classifications were checked (seed {seed})");
    }

    [Theory]
    [InlineData("64*v0 + v1", 8, "Vector")]
    [InlineData("13*v0 + v1", 8, "Gather")]
    [InlineData("64*v0 + v1 + 4", 8, "Gather")]
    [InlineData("64*v0 + v1 + 4", 4, "Vector")]
    [InlineData("v0 + 5*v1", 8, "Gather")]
    [InlineData("64*v0", 8, "Invariant")]
    [InlineData("(v1 % 16) + 32*(v1 / 16)", 8, "Vector")]
    [InlineData("(v1 % 4) + 32*(v1 / 4)", 8, "Gather")]
    public void ClassifiesTypicalOffsets(string text, int width, string expected)
    {
        CDim[] extents = [CDim.Batch(), CDim.Static(64)];
        Assert.Equal(Enum.Parse<AccessKind>(expected), AccessPattern.Along(IndexText.Parse(text), 1, width, extents));
    }

    /// <summary>Checks Along's claim for every variable of static extent and width 2, 4, 8 at every point (N = 1, 2); returns how many were Vector.</summary>
    private static int CheckClaims(IndexExpr offset, IReadOnlyList<CDim> extents, string what)
    {
        int vectors = 0;
        for (int variable = 0; variable < extents.Count; variable++)
        {
            foreach (int width in new[] { 2, 4, 8 })
            {
                var kind = AccessPattern.Along(offset, variable, width, extents);
                if (kind == AccessKind.Gather) continue;
                if (kind == AccessKind.Vector) vectors++;
                foreach (var (values, batch) in Points(extents))
                {
                    if (values[variable] % width != 0) continue;
                    long first = IndexEval.Evaluate(offset, values, batch);
                    if (kind == AccessKind.Vector && first % width != 0)
                        Assert.Fail($"{what}: Vector along v{variable} by {width}, but the chunk at {Describe(values, batch)} starts at {first}, not a multiple of {width}");
                    for (int e = 1; e < width; e++)
                    {
                        var moved = (long[])values.Clone();
                        moved[variable] += e;
                        long at = IndexEval.Evaluate(offset, moved, batch);
                        long expected = kind == AccessKind.Vector ? first + e : first;
                        if (at != expected)
                            Assert.Fail($"{what}: {kind} along v{variable} by {width}, but at {Describe(moved, batch)} the offset is {at}, not {expected}");
                    }
                }
            }
        }
        return vectors;
    }

    /// <summary>Every point of the variables (at most about 20000: a large domain is walked with a stride).</summary>
    private static IEnumerable<(long[] Values, long Batch)> Points(IReadOnlyList<CDim> extents)
    {
        for (long batch = 1; batch <= 2; batch++)
        {
            var sizes = extents.Select(d => d.At(batch)).ToArray();
            long count = sizes.Aggregate(1L, (p, s) => p * s);
            long step = Math.Max(1, count / 20000) | 1;
            for (long flat = 0; flat < count; flat += step)
            {
                var values = new long[sizes.Length];
                long rest = flat;
                for (int i = sizes.Length - 1; i >= 0; i--)
                {
                    values[i] = rest % sizes[i];
                    rest /= sizes[i];
                }
                yield return (values, batch);
            }
        }
    }

    private static string Describe(long[] values, long batch) => string.Join(", ", values.Select((v, i) => $"v{i}={v}")) + $", N={batch}";

    private static IEnumerable<LoopKernel> Kernels()
    {
        foreach (var name in FusedGroups.All.Keys) yield return FusedGroups.Get(name).Lower().Kernel;
        for (int i = 0; i < SingleOpKernels.Cases.Count; i++) yield return SingleOpKernels.Lower(i).Kernel;
        // Layouts whose inner runs are multiples of 8: PatchMerging's channel blocks, windows of 16 channels, a 16-wide transpose.
        var g = new LoweringGraph();
        int image = g.Input(FloatType.F16, CDim.Batch(), CDim.Static(4), CDim.Static(6), CDim.Static(8));
        int merged = g.Op(Ops.PatchMerging, [image]);
        yield return g.Lower("patch_merging_c8", [merged], merged).Kernel;
        int wide = g.Input(FloatType.F16, CDim.Batch(), CDim.Static(6), CDim.Static(6), CDim.Static(16));
        int rolled = g.Op(Ops.Roll, [wide], AttributeSet.Of(OpAttribute.Int("shift", 2), OpAttribute.IntList("axes", [1, 2])));
        int windows = g.Op(Ops.WindowPartition, [rolled], AttributeSet.Of(OpAttribute.Int("window", 3)));
        yield return g.Lower("roll_window_partition_c16", [rolled, windows], windows).Kernel;
        int square = g.Input(FloatType.F32, CDim.Batch(), CDim.Static(16), CDim.Static(16));
        int transposed = g.Op(Ops.Transpose, [square], AttributeSet.Of(OpAttribute.Int("dim0", 1), OpAttribute.Int("dim1", 2)));
        yield return g.Lower("transpose_16", [transposed], transposed).Kernel;
    }
}
