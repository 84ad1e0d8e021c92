using Fusion.Compiler;
using CDim = Fusion.Compiler.Dim;

namespace Fusion.Runtime.Tests.Compiler;

/// <summary>A hand-built fused group: its graph, the nodes the kernel computes, and the values it stores (the first is the domain).</summary>
internal sealed record GroupCase(string Name, LoweringGraph Graph, int[] Members, int[] Outputs)
{
    public LoweredGroup Lower() => Graph.Lower(Name, Members, Outputs);

    public override string ToString() => Name;
}

/// <summary>
/// The fused groups the lowering tests run, numerically and through clang: Swin's fusions, reductions over middle and
/// non-contiguous axes, normalizations written out by hand, and views that select between pieces. Sizes are odd (13 channels,
/// 7-wide windows) so no vector width divides them by accident; the batch axis is dynamic.
/// </summary>
internal static class FusedGroups
{
    private static readonly CDim N = CDim.Batch();

    private static CDim S(long value) => CDim.Static(value);

    public static readonly IReadOnlyDictionary<string, Func<GroupCase>> All = new Dictionary<string, Func<GroupCase>>
    {
        ["layer_norm_roll_window_partition"] = LayerNormRollWindowPartition,
        ["window_reverse_roll_add"] = WindowReverseRollAdd,
        ["add_layer_norm_stores_both"] = AddLayerNormStoresBoth,
        ["mean_middle_axis_scale"] = MeanMiddleAxisScale,
        ["sum_non_contiguous_axes_keep_dim"] = SumNonContiguousAxes,
        ["max_all_but_batch"] = MaxAllButBatch,
        ["rms_norm_by_hand"] = RmsNormByHand,
        ["concat_pad_gelu"] = ConcatPadGelu,
        ["patch_merging_layer_norm"] = PatchMergingLayerNorm,
        ["softmax_middle_axis"] = SoftmaxMiddleAxis,
        ["layer_norm_long_row"] = LayerNormLongRow,
        ["slice_expand_where"] = SliceExpandWhere,
        ["layer_norm_roll_window_partition_stores_norm"] = LayerNormRollWindowPartitionStoresNorm,
        ["pad_mean"] = PadMean,
        ["reshape_pad_reshape_add"] = ReshapePadReshapeAdd,
        ["add_gelu_vectorized"] = AddGeluVectorized,
        ["layer_norm_vectorized"] = LayerNormVectorized,
        ["center_along_middle_axis"] = CenterAlongMiddleAxis,
        ["sum_over_broadcast_axis"] = SumOverBroadcastAxis,
        ["max_over_negative_infinity_pad"] = MaxOverNegativeInfinityPad,
    };

    public static GroupCase Get(string name) => All[name]();

    /// <summary>Swin's pre-attention: LayerNorm → Roll(−3) over H, W → WindowPartition(7), on [N, 14, 14, 13].</summary>
    private static GroupCase LayerNormRollWindowPartition()
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.Io, N, S(14), S(14), S(13));
        int w = g.Input(FloatType.F32, S(13));
        int b = g.Input(FloatType.F32, S(13));
        int ln = g.Op(Ops.LayerNorm, [x, w, b], AttributeSet.Of(OpAttribute.Real("eps", 1e-5)));
        int roll = g.Op(Ops.Roll, [ln], AttributeSet.Of(OpAttribute.Int("shift", -3), OpAttribute.IntList("axes", [1, 2])));
        int wp = g.Op(Ops.WindowPartition, [roll], AttributeSet.Of(OpAttribute.Int("window", 7)));
        return new("layer_norm_roll_window_partition", g, [ln, roll, wp], [wp]);
    }

    /// <summary>Swin's post-attention: WindowReverse → Roll(+3) → Add of the residual.</summary>
    private static GroupCase WindowReverseRollAdd()
    {
        var g = new LoweringGraph();
        int attn = g.Input(FloatType.Io, CDim.Batch(4), S(49), S(13));
        int residual = g.Input(FloatType.Io, N, S(14), S(14), S(13));
        int wr = g.Op(Ops.WindowReverse, [attn], AttributeSet.Of(OpAttribute.Int("window", 7), OpAttribute.Int("height", 14), OpAttribute.Int("width", 14)));
        int roll = g.Op(Ops.Roll, [wr], AttributeSet.Of(OpAttribute.Int("shift", 3), OpAttribute.IntList("axes", [1, 2])));
        int add = g.Op(Ops.Add, [residual, roll]);
        return new("window_reverse_roll_add", g, [wr, roll, add], [add]);
    }

    /// <summary>A residual add whose sum is both normalized and stored (two outputs: the norm is the domain, the sum rides along).</summary>
    private static GroupCase AddLayerNormStoresBoth()
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.F16, N, S(5), S(13));
        int bias = g.Input(FloatType.F16, S(13));
        int w = g.Input(FloatType.F32, S(13));
        int b = g.Input(FloatType.F32, S(13));
        int add = g.Op(Ops.Add, [x, bias]);
        int ln = g.Op(Ops.LayerNorm, [add, w, b], AttributeSet.Of(OpAttribute.Real("eps", 1e-5)));
        return new("add_layer_norm_stores_both", g, [add, ln], [ln, add]);
    }

    /// <summary>Mean over the middle axis of [N, 7, 13] (a strided reduction over an extra loop variable), then a scale.</summary>
    private static GroupCase MeanMiddleAxisScale()
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.F32, N, S(7), S(13));
        int mean = g.Op(Ops.Mean, [x], AttributeSet.Of(OpAttribute.IntList("axes", [1]), OpAttribute.Int("keepDim", 0)));
        int scaled = g.Op(Ops.Mul, [mean, g.Const(2.5)]);
        return new("mean_middle_axis_scale", g, [mean, scaled], [scaled]);
    }

    /// <summary>Sum over axes −1 and 1 of [N, 3, 4, 5] (listed out of order, not adjacent), kept as size-1 axes.</summary>
    private static GroupCase SumNonContiguousAxes()
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.Io, N, S(3), S(4), S(5));
        int sum = g.Op(Ops.Sum, [x], AttributeSet.Of(OpAttribute.IntList("axes", [-1, 1]), OpAttribute.Int("keepDim", 1)));
        return new("sum_non_contiguous_axes_keep_dim", g, [sum], [sum]);
    }

    /// <summary>Max over every axis but the batch, after an Abs (so the maximum is of computed values).</summary>
    private static GroupCase MaxAllButBatch()
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.F32, N, S(3), S(7));
        int abs = g.Op(Ops.Abs, [x]);
        int max = g.Op(Ops.Max, [abs], AttributeSet.Of(OpAttribute.IntList("axes", [1, 2]), OpAttribute.Int("keepDim", 0)));
        return new("max_all_but_batch", g, [abs, max], [max]);
    }

    /// <summary>RMSNorm as a model would write it: x · rsqrt(mean(x·x, −1, keepDim) + eps) · weight.</summary>
    private static GroupCase RmsNormByHand()
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.Io, N, S(5), S(13));
        int w = g.Input(FloatType.F32, S(13));
        int square = g.Op(Ops.Mul, [x, x]);
        int meanSquare = g.Op(Ops.Mean, [square], AttributeSet.Of(OpAttribute.IntList("axes", [-1]), OpAttribute.Int("keepDim", 1)));
        int shifted = g.Op(Ops.Add, [meanSquare, g.Const(1e-6)]);
        int inv = g.Op(Ops.Rsqrt, [shifted]);
        int normalized = g.Op(Ops.Mul, [x, inv]);
        int y = g.Op(Ops.Mul, [normalized, w]);
        return new("rms_norm_by_hand", g, [square, meanSquare, shifted, inv, normalized, y], [y]);
    }

    /// <summary>Three tensors joined along the middle axis, padded on two axes with 0.5, then GELU.</summary>
    private static GroupCase ConcatPadGelu()
    {
        var g = new LoweringGraph();
        int a = g.Input(FloatType.Io, N, S(3), S(5));
        int b = g.Input(FloatType.Io, N, S(4), S(5));
        int c = g.Input(FloatType.Io, N, S(2), S(5));
        int cat = g.Op(Ops.Concat, [a, b, c], AttributeSet.Of(OpAttribute.Int("axis", 1)));
        int pad = g.Op(Ops.Pad, [cat], AttributeSet.Of(OpAttribute.IntList("pads", [1, 2, 2, 1]), OpAttribute.Real("value", 0.5)));
        int gelu = g.Op(Ops.Gelu, [pad]);
        return new("concat_pad_gelu", g, [cat, pad, gelu], [gelu]);
    }

    /// <summary>Swin's downsampling: PatchMerging [N, 6, 10, 5] → [N, 3, 5, 20], then LayerNorm over the merged channels.</summary>
    private static GroupCase PatchMergingLayerNorm()
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.Io, N, S(6), S(10), S(5));
        int w = g.Input(FloatType.F16, S(20));
        int b = g.Input(FloatType.F16, S(20));
        int merged = g.Op(Ops.PatchMerging, [x]);
        int ln = g.Op(Ops.LayerNorm, [merged, w, b], AttributeSet.Of(OpAttribute.Real("eps", 1e-5)), FloatType.Io);
        return new("patch_merging_layer_norm", g, [merged, ln], [ln]);
    }

    /// <summary>Softmax along the middle axis of [N, 7, 5]: a normalization along a strided axis.</summary>
    private static GroupCase SoftmaxMiddleAxis()
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.F32, N, S(7), S(5));
        int scaled = g.Op(Ops.Mul, [x, g.Const(4.0)]);
        int softmax = g.Op(Ops.Softmax, [scaled], AttributeSet.Of(OpAttribute.Int("axis", -2)));
        return new("softmax_middle_axis", g, [scaled, softmax], [softmax]);
    }

    /// <summary>LayerNorm over 1501 channels: more than a warp's registers hold (32 lanes × 32), so the CUDA kernel loops over the row.</summary>
    private static GroupCase LayerNormLongRow()
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.Io, N, S(3), S(1501));
        int w = g.Input(FloatType.F32, S(1501));
        int b = g.Input(FloatType.F32, S(1501));
        int ln = g.Op(Ops.LayerNorm, [x, w, b], AttributeSet.Of(OpAttribute.Real("eps", 1e-5)));
        return new("layer_norm_long_row", g, [ln], [ln]);
    }

    /// <summary>A strided slice, a broadcast along a new leading axis, and a select between the two by a broadcast mask.</summary>
    private static GroupCase SliceExpandWhere()
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.Io, N, S(5), S(11));
        int row = g.Input(FloatType.Io, S(1), S(4));
        int mask = g.Input(FloatType.F32, S(5), S(1));
        int set = g.Op(Ops.Relu, [mask]); // about half the rows 0, so both sides are selected
        int sliced = g.Op(Ops.Slice, [x], AttributeSet.Of(OpAttribute.Int("axis", 2), OpAttribute.Int("start", 1), OpAttribute.Int("end", 11), OpAttribute.Int("step", 3)));
        int expanded = g.Op(Ops.Expand, [row], AttributeSet.Of(OpAttribute.IntList("shape", [5, -1])));
        int selected = g.Op(Ops.Where, [set, sliced, expanded], type: FloatType.Io);
        return new("slice_expand_where", g, [set, sliced, expanded, selected], [selected]);
    }

    /// <summary>The pre-attention group storing the normalized image too: a second output reached through the (bijective) views.</summary>
    private static GroupCase LayerNormRollWindowPartitionStoresNorm()
    {
        var c = LayerNormRollWindowPartition();
        return c with { Name = "layer_norm_roll_window_partition_stores_norm", Outputs = [c.Outputs[0], c.Members[0]] };
    }

    /// <summary>A mean over a padded axis: the pad's guard and fill value inside the reduction loop.</summary>
    private static GroupCase PadMean()
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.Io, N, S(5), S(6));
        int pad = g.Op(Ops.Pad, [x], AttributeSet.Of(OpAttribute.IntList("pads", [2, 1]), OpAttribute.Real("value", 1.5)));
        int mean = g.Op(Ops.Mean, [pad], AttributeSet.Of(OpAttribute.IntList("axes", [-1]), OpAttribute.Int("keepDim", 0)));
        return new("pad_mean", g, [pad, mean], [mean]);
    }

    /// <summary>
    /// Reshapes on both sides of a pad: the inner reshape is evaluated at the pad's shifted index, negative where the guard
    /// fails, so the loads' division and remainder must only run where the guard holds.
    /// </summary>
    private static GroupCase ReshapePadReshapeAdd()
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.Io, N, S(4), S(9));
        int bias = g.Input(FloatType.F32, S(64));
        int square = g.Op(Ops.Reshape, [x], AttributeSet.Of(OpAttribute.IntList("shape", [-1, 6, 6])));
        int pad = g.Op(Ops.Pad, [square], AttributeSet.Of(OpAttribute.IntList("pads", [1, 1, 1, 1]), OpAttribute.Real("value", -1)));
        int flat = g.Op(Ops.Reshape, [pad], AttributeSet.Of(OpAttribute.IntList("shape", [-1, 64])));
        int add = g.Op(Ops.Add, [flat, bias]);
        return new("reshape_pad_reshape_add", g, [square, pad, flat, add], [add]);
    }

    /// <summary>Bias add and GELU over 64 channels: the CUDA printer's vector path (8 halves a load) on the innermost axis.</summary>
    private static GroupCase AddGeluVectorized()
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.Io, N, S(5), S(64));
        int bias = g.Input(FloatType.F16, S(64));
        int add = g.Op(Ops.Add, [x, bias]);
        int gelu = g.Op(Ops.Gelu, [add]);
        return new("add_gelu_vectorized", g, [add, gelu], [gelu]);
    }

    /// <summary>LayerNorm over Swin-T's 96 channels in f16: a row kernel with vector chunks.</summary>
    private static GroupCase LayerNormVectorized()
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.F16, N, S(7), S(96));
        int w = g.Input(FloatType.F32, S(96));
        int b = g.Input(FloatType.F32, S(96));
        int ln = g.Op(Ops.LayerNorm, [x, w, b], AttributeSet.Of(OpAttribute.Real("eps", 1e-5)));
        return new("layer_norm_vectorized", g, [ln], [ln]);
    }

    /// <summary>
    /// x − mean(x, axis 1, keepDim): the mean is read at a broadcast index, so its reduction binds the free domain axis of the same
    /// extent (v1) and the kernel normalizes along a strided domain axis.
    /// </summary>
    private static GroupCase CenterAlongMiddleAxis()
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.Io, N, S(5), S(7));
        int mean = g.Op(Ops.Mean, [x], AttributeSet.Of(OpAttribute.IntList("axes", [1]), OpAttribute.Int("keepDim", 1)));
        int centered = g.Op(Ops.Sub, [x, mean]);
        return new("center_along_middle_axis", g, [mean, centered], [centered]);
    }

    /// <summary>A sum over an axis the operand is broadcast along (Expand): the summed value does not vary along the reduction.</summary>
    private static GroupCase SumOverBroadcastAxis()
    {
        var g = new LoweringGraph();
        int row = g.Input(FloatType.F32, N, S(1), S(7));
        int expanded = g.Op(Ops.Expand, [row], AttributeSet.Of(OpAttribute.IntList("shape", [-1, 5, 7])));
        int scaled = g.Op(Ops.Mul, [expanded, g.Const(0.5)]);
        int sum = g.Op(Ops.Sum, [scaled], AttributeSet.Of(OpAttribute.IntList("axes", [1]), OpAttribute.Int("keepDim", 0)));
        return new("sum_over_broadcast_axis", g, [expanded, scaled, sum], [sum]);
    }

    /// <summary>The maximum over a row padded with −∞ on both sides: the fill must never win, and must not be NaN.</summary>
    private static GroupCase MaxOverNegativeInfinityPad()
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.Io, N, S(5), S(6));
        int pad = g.Op(Ops.Pad, [x], AttributeSet.Of(OpAttribute.IntList("pads", [1, 2]), OpAttribute.Real("value", double.NegativeInfinity)));
        int max = g.Op(Ops.Max, [pad], AttributeSet.Of(OpAttribute.IntList("axes", [-1]), OpAttribute.Int("keepDim", 1)));
        return new("max_over_negative_infinity_pad", g, [pad, max], [max]);
    }
}
