using Fusion.Compiler;
using Fusion.Testing;
using CDim = Fusion.Compiler.Dim;

namespace Fusion.Runtime.Tests.Compiler;

/// <summary>
/// Fused groups lowered to one kernel and run on the CPU backend (through the IR text, as a compiled model runs them), against
/// the chain of their operators' float64 references, at batch 1 and 3 and for both run types when the kernel has io buffers.
/// </summary>
public class GroupLoweringTests
{
    // Tolerances: everything inside a kernel is float32 and each store rounds once. A float16 store's half ulp is 2⁻¹¹ ≈ 4.9e-4
    // relative, so 1e-3 + 1e-3·|b| (as Precision.Half); float32 stores after sums of ≤ 1501 terms: 1e-5 + 1e-5·|b|.
    private const double F32Tolerance = 1e-5;

    public static TheoryData<string> Groups => new(FusedGroups.All.Keys);

    [Theory]
    [MemberData(nameof(Groups))]
    public void LoweredGroupMatchesItsChainedReferences(string name)
    {
        var group = FusedGroups.Get(name);
        var lowered = group.Lower();
        var ioTypes = lowered.Kernel.UsesIoType ? new[] { DType.Float32, DType.Float16 } : [DType.Float32];
        foreach (var io in ioTypes)
        {
            foreach (int batch in new[] { 1, 3 })
            {
                int seed = TestData.NewSeed();
                var inputs = group.Graph.RandomInputs(lowered, batch, io, seed);
                var outputs = group.Graph.Run(lowered, batch, io, inputs);
                Assert.Equal(lowered.Outputs.Count, outputs.Length);
                for (int k = 0; k < outputs.Length; k++)
                {
                    int node = lowered.Outputs[k];
                    var type = LoopInterpreter.Resolve(group.Graph[node].Type, io);
                    double tolerance = type == DType.Float16 ? Precision.Half : F32Tolerance;
                    Tolerance.AssertClose(outputs[k], group.Graph.Reference(node, inputs), tolerance, tolerance,
                        $"{name} output {k} ({group.Graph.Describe(node)}) at batch {batch}, io {io.ShortName()}");
                }
            }
        }
    }

    [Fact]
    public void RmsNormWrittenByHandMatchesTheRmsNormDescriptor()
    {
        // The hand-written chain and the RmsNorm descriptor's own reference are independent formulas of the same function.
        var group = FusedGroups.Get("rms_norm_by_hand");
        var lowered = group.Lower();
        int seed = TestData.NewSeed();
        var inputs = group.Graph.RandomInputs(lowered, 3, DType.Float32, seed);
        var x = LoweringGraph.ToArray(inputs[lowered.Inputs[0]]);
        var w = LoweringGraph.ToArray(inputs[lowered.Inputs[1]]);
        var expected = LoweringGraph.ToTensor(Ops.RmsNorm.Reference([x, w], AttributeSet.Of(OpAttribute.Real("eps", 1e-6))));
        expected.Seed = seed;
        var actual = group.Graph.Run(lowered, 3, DType.Float32, inputs)[0];
        Tolerance.AssertClose(actual, expected, F32Tolerance, F32Tolerance, "RMSNorm by hand vs the RmsNorm descriptor");
    }

    [Theory]
    [InlineData(1, DType.Float32)]
    [InlineData(3, DType.Float16)]
    public void GemmEpilogueOverFlattenedRowsReadsItsAccumulator(int batch, DType io)
    {
        // Linear → + bias → GELU → + residual as a GEMM epilogue: the Linear is the accumulator (a template outside the group,
        // given here as its float32 result), and the loops run over the GEMM's [rows, N] = [5N, 11] whatever the output's rank.
        var g = new LoweringGraph();
        int x = g.Input(FloatType.Io, CDim.Batch(), CDim.Static(5), CDim.Static(13));
        int w = g.Input(FloatType.F32, CDim.Static(11), CDim.Static(13));
        int linear = g.Op(Ops.Linear, [x, w], type: FloatType.F32);
        int bias = g.Input(FloatType.F32, CDim.Static(11));
        int residual = g.Input(FloatType.Io, CDim.Batch(), CDim.Static(5), CDim.Static(11));
        int biased = g.Op(Ops.Add, [linear, bias]);
        int gelu = g.Op(Ops.Gelu, [biased]);
        int y = g.Op(Ops.Add, [gelu, residual], type: FloatType.Io);
        var lowered = g.LowerEpilogue("linear_epilogue", [biased, gelu, y], [y], linear, [CDim.Batch(5), CDim.Static(11)]);
        Assert.Equal(BufferRole.Accumulator, lowered.Kernel.Buffers[lowered.Inputs.Items.IndexOf(linear)].Role);
        Assert.Equal([CDim.Batch(5), CDim.Static(11)], lowered.Kernel.Domain.ToArray());
        int seed = TestData.NewSeed();
        var inputs = g.RandomInputs(lowered, batch, io, seed);
        var actual = g.Run(lowered, batch, io, inputs)[0];
        double tolerance = io == DType.Float16 ? Precision.Half : F32Tolerance;
        Tolerance.AssertClose(actual, g.Reference(y, inputs), tolerance, tolerance, $"GEMM epilogue at batch {batch}, io {io.ShortName()}");
    }

    [Theory]
    [InlineData(1, DType.Float32, true)]
    [InlineData(3, DType.Float16, true)]
    [InlineData(4, DType.Float32, false)]
    public void GemmEpiloguePoolsItsResultByAccumulatingStores(int batch, DType io, bool mean)
    {
        // A channels-last convolution's GEMM, + bias → ReLU, then the NCHW view and a global pool: the epilogue runs over the GEMM's
        // [35N, 11] rows and adds each value (over 35 for the mean) into its image's pooled element; the result itself is never
        // stored. The CPU backend adds rows from several cores, so the adds land in any order: sums of 35 float32 terms, 1e-5.
        var g = new LoweringGraph();
        int x = g.Input(FloatType.Io, CDim.Batch(), CDim.Static(7), CDim.Static(5), CDim.Static(13));
        int w = g.Input(FloatType.F32, CDim.Static(11), CDim.Static(13));
        int linear = g.Op(Ops.Linear, [x, w], type: FloatType.F32);
        int bias = g.Input(FloatType.F32, CDim.Static(11));
        int biased = g.Op(Ops.Add, [linear, bias]);
        int relu = g.Op(Ops.Relu, [biased], type: FloatType.Io);
        int nchw = g.Op(Ops.Permute, [relu], AttributeSet.Of(OpAttribute.IntList("axes", [0, 3, 1, 2])));
        int pooled = g.Op(mean ? Ops.Mean : Ops.Sum, [nchw], AttributeSet.Of(OpAttribute.IntList("axes", [2, 3]), OpAttribute.Int("keepDim", 1)), FloatType.F32);
        var lowered = g.LowerPooledEpilogue("pooled_epilogue", [biased, relu], relu, [nchw], pooled, linear, [CDim.Batch(35), CDim.Static(11)]);
        Assert.Equal([pooled], lowered.Outputs.ToArray());
        var store = Assert.Single(lowered.Kernel.Body.OfType<StoreInstr>());
        Assert.True(store.Accumulate);
        Assert.False(lowered.Kernel.HasReduction);
        int seed = TestData.NewSeed();
        var inputs = g.RandomInputs(lowered, batch, io, seed);
        var actual = g.Run(lowered, batch, io, inputs)[0];
        Assert.Equal([batch, 11, 1, 1], actual.Shape);
        Tolerance.AssertClose(actual, g.Reference(pooled, inputs), F32Tolerance, F32Tolerance, $"pooled GEMM epilogue ({(mean ? "mean" : "sum")}) at batch {batch}, io {io.ShortName()}");
    }

    [Theory]
    [InlineData("Max", "no sum or mean")]
    [InlineData("F16", "an accumulated sum is float32")]
    public void OnlyAFloat32SumOrMeanIsAccumulated(string what, string why)
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.F16, CDim.Batch(), CDim.Static(4), CDim.Static(8));
        int w = g.Input(FloatType.F16, CDim.Static(8), CDim.Static(8));
        int linear = g.Op(Ops.Linear, [x, w], type: FloatType.F32);
        int relu = g.Op(Ops.Relu, [linear], type: FloatType.F16);
        var axes = AttributeSet.Of(OpAttribute.IntList("axes", [1]));
        int pooled = what == "Max" ? g.Op(Ops.Max, [relu], axes, FloatType.F32) : g.Op(Ops.Mean, [relu], axes, FloatType.F16);
        var e = Assert.Throws<LoweringException>(() => g.LowerPooledEpilogue("refused", [relu], relu, [], pooled, linear, [CDim.Batch(4), CDim.Static(8)]));
        Assert.Contains(why, e.Message);
    }

    [Fact]
    public void ViewsBecomeIndexMathInTheLoads()
    {
        // LayerNorm → Roll → WindowPartition reads x, weight and bias once each and stores once: the views cost no buffer,
        // and the normalized axis (C, the last of the [4N, 49, 13] domain) is the reduction variable.
        var kernel = FusedGroups.Get("layer_norm_roll_window_partition").Lower().Kernel;
        Assert.Equal(3, kernel.Inputs.Count());
        Assert.Equal(3, kernel.Body.OfType<LoadInstr>().Count());
        Assert.Single(kernel.Body.OfType<StoreInstr>());
        Assert.Equal([CDim.Batch(4), CDim.Static(49), CDim.Static(13)], kernel.Domain.ToArray());
        Assert.Equal(2, kernel.ReduceVar);
        Assert.Equal(13, kernel.ReduceExtent);
    }

    [Theory]
    [InlineData("pad_mean", 1.5)]
    [InlineData("max_over_negative_infinity_pad", double.NegativeInfinity)]
    public void PaddingAroundAStoredValueIsTheLoadsOwn(string group, double padding)
    {
        // The pad reads its input straight from memory: one guarded load that gives the padding value where its bounds fail, and
        // no predicate or select of its own (each printer and the interpreter then evaluate only the load's guard).
        var kernel = FusedGroups.Get(group).Lower().Kernel;
        string ir = LoopIrText.Print(kernel);
        var load = Assert.Single(kernel.Body.OfType<LoadInstr>(), l => l.Guard.Count > 0);
        Assert.Equal(padding, load.Otherwise);
        Assert.Empty(kernel.Body.OfType<PredicateInstr>());
        Assert.DoesNotContain(kernel.Body.OfType<OpInstr>(), o => o.Op == ScalarOp.Where);
        Assert.Contains("else " + LoopIrText.Number(padding), ir);
    }

    [Fact]
    public void PaddingAroundAValueComputedInTheKernelStaysASelect()
    {
        // concat → pad (0.5) → GELU: the padded value is the concatenation's, so the pad is a select over it.
        var kernel = FusedGroups.Get("concat_pad_gelu").Lower().Kernel;
        Assert.Contains(kernel.Body.OfType<OpInstr>(), o => o.Op == ScalarOp.Where);
        Assert.Contains(kernel.Body.OfType<ConstInstr>(), c => c.Value == 0.5);
    }

    [Fact]
    public void AReductionOverAMiddleAxisGetsAnExtraLoopVariable()
    {
        var kernel = FusedGroups.Get("mean_middle_axis_scale").Lower().Kernel;
        Assert.True(kernel.ReducesExtraVar, LoopIrText.Print(kernel));
        Assert.Equal(7, kernel.ReduceExtent);
    }

    [Fact]
    public void TwoReductionsOverDifferentAxesCannotShareAKernel()
    {
        // Softmax along axis 1 feeding a LayerNorm along axis 2.
        var g = new LoweringGraph();
        int x = g.Input(FloatType.F32, CDim.Batch(), CDim.Static(5), CDim.Static(7));
        int w = g.Input(FloatType.F32, CDim.Static(7));
        int b = g.Input(FloatType.F32, CDim.Static(7));
        int softmax = g.Op(Ops.Softmax, [x], AttributeSet.Of(OpAttribute.Int("axis", 1)));
        int ln = g.Op(Ops.LayerNorm, [softmax, w, b], AttributeSet.Of(OpAttribute.Real("eps", 1e-5)));
        var e = Assert.Throws<LoweringException>(() => g.Lower("softmax_layer_norm", [softmax, ln], ln));
        Assert.Contains("another axis", e.Message);
        Assert.Contains("Softmax", e.Message);
    }

    [Fact]
    public void ASumOverAnotherAxisOfANormalizedValueCannotShareAKernel()
    {
        // x − sum(x, axis 2) summed over axis 1: the inner reduction runs over 7 elements, the outer over 5.
        var g = new LoweringGraph();
        int x = g.Input(FloatType.F32, CDim.Batch(), CDim.Static(5), CDim.Static(7));
        int inner = g.Op(Ops.Sum, [x], AttributeSet.Of(OpAttribute.IntList("axes", [2]), OpAttribute.Int("keepDim", 1)));
        int centered = g.Op(Ops.Sub, [x, inner]);
        int outer = g.Op(Ops.Sum, [centered], AttributeSet.Of(OpAttribute.IntList("axes", [1]), OpAttribute.Int("keepDim", 0)));
        var e = Assert.Throws<LoweringException>(() => g.Lower("two_sums", [inner, centered, outer], outer));
        Assert.Contains("another axis", e.Message);
        Assert.Contains("Sum", e.Message);
    }

    [Fact]
    public void AValueReadThroughABroadcastCannotBeStoredFromTheKernel()
    {
        // y = a + b with a [N, 1, 7] broadcast along axis 1: a's relu is reached five times per element.
        var g = new LoweringGraph();
        int a = g.Input(FloatType.F32, CDim.Batch(), CDim.Static(1), CDim.Static(7));
        int b = g.Input(FloatType.F32, CDim.Batch(), CDim.Static(5), CDim.Static(7));
        int relu = g.Op(Ops.Relu, [a]);
        int sum = g.Op(Ops.Add, [relu, b]);
        var e = Assert.Throws<LoweringException>(() => g.Lower("broadcast_store", [relu, sum], sum, relu));
        Assert.Contains("Relu", e.Message);
        Assert.Contains("broadcast", e.Message);
    }
}
