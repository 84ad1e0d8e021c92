using Fusion.Compiler;
using Fusion.Testing;
using static Fusion.Runtime.Tests.Operators.OperatorCheck;

namespace Fusion.Runtime.Tests.Operators;

/// <summary>
/// Data-movement operators: exact equality, in both dtypes, with the descriptor's reference and with an index formula written
/// here (or the existing Ref.* for the layouts Swin uses).
/// </summary>
public class ViewTests
{
    [Theory]
    [MemberData(nameof(DTypesAndBatches), MemberType = typeof(OperatorCheck))]
    public void ConcatOfThreeAlongTheMiddleAxis(DType dtype, int batch)
    {
        int seed = TestData.NewSeed();
        var a = TestData.Random(seed, batch, 3, 7);
        var b = TestData.Random(seed + 1, batch, 1, 7);
        var c = TestData.Random(seed + 2, batch, 5, 7);
        foreach (int axis in new[] { 1, -2 })
        {
            var attributes = AttributeSet.Of(OpAttribute.Int("axis", axis));
            CheckExact(dtype, $"Concat axis {axis}", t => F.Concat(axis, t[0], t[1], t[2]), r => Reference(Ops.Concat, attributes, r), a, b, c);
            CheckExact(dtype, $"Concat axis {axis} by formula", t => F.Concat(axis, t[0], t[1], t[2]), r => ConcatMiddle(r), a, b, c);
        }
        // Along the last and the first axis, and a single tensor.
        var d = TestData.Random(seed + 3, batch, 3, 2);
        CheckExact(dtype, "Concat last axis", t => F.Concat(-1, t[0], t[1]), r => Reference(Ops.Concat, AttributeSet.Of(OpAttribute.Int("axis", -1)), r), a, d);
        CheckExact(dtype, "Concat first axis", t => F.Concat(0, t[0], t[1]), r => Reference(Ops.Concat, AttributeSet.Of(OpAttribute.Int("axis", 0)), r), a, a);
        CheckExact(dtype, "Concat of one", t => F.Concat(1, t[0]), r => r[0], a);
    }

    [Theory]
    [MemberData(nameof(DTypesAndBatches), MemberType = typeof(OperatorCheck))]
    public void PatchifyGathersEachPatchAsOneVector(DType dtype, int batch)
    {
        var x = TestData.Random(TestData.NewSeed(), batch, 3, 10, 15);
        var attributes = AttributeSet.Of(OpAttribute.Int("patch", 5));
        CheckExact(dtype, "Patchify 5", t => F.Patchify(t[0], 5), r => Reference(Ops.Patchify, attributes, r), x);
        CheckExact(dtype, "Patchify 5 by Ref.Patchify", t => F.Patchify(t[0], 5), r => Ref.Patchify(r[0], 5), x);
    }

    /// <summary>Im2col: row (b, oy, ox) holds input [b, c, oy·s − p + ky·d, ox·s − p + kx·d] at (ky·k + kx)·C + c, 0 in the padding.</summary>
    [Theory]
    [MemberData(nameof(DTypesAndBatches), MemberType = typeof(OperatorCheck))]
    public void Im2colGathersEachWindowChannelsInnermost(DType dtype, int batch)
    {
        var x = TestData.Random(TestData.NewSeed(), batch, 5, 9, 7);
        foreach (var (k, s, p, d) in new[] { (3, 2, 1, 1), (3, 1, 2, 2), (1, 2, 0, 1), (4, 3, 0, 1) })
        {
            var attributes = AttributeSet.Of(OpAttribute.Int("kernel", k), OpAttribute.Int("stride", s), OpAttribute.Int("padding", p), OpAttribute.Int("dilation", d));
            CheckExact(dtype, $"Im2col k{k} s{s} p{p} d{d}", t => F.Im2col(t[0], k, s, p, d), r => Reference(Ops.Im2col, attributes, r), x);
            CheckExact(dtype, $"Im2col k{k} s{s} p{p} d{d} by formula", t => F.Im2col(t[0], k, s, p, d), r => Windows(r[0], k, s, p, d, 0, channelsInnermost: true), x);
        }
    }

    /// <summary>ConvWindows without groups: [b, oy, ox, ky·k + kx, c] holds channel c's window, the padding reading the given value.</summary>
    [Theory]
    [MemberData(nameof(DTypesAndBatches), MemberType = typeof(OperatorCheck))]
    public void ConvWindowsGathersEachChannelsWindow(DType dtype, int batch)
    {
        var x = TestData.Random(TestData.NewSeed(), batch, 3, 8, 11);
        foreach (var (k, s, p, d, value) in new[] { (3, 2, 1, 1, -5.0), (2, 2, 0, 1, 0.0), (3, 1, 2, 2, 1.5) })
        {
            var attributes = AttributeSet.Of(OpAttribute.Int("kernel", k), OpAttribute.Int("stride", s), OpAttribute.Int("padding", p), OpAttribute.Int("dilation", d), OpAttribute.Real("value", value));
            CheckExact(dtype, $"ConvWindows k{k} s{s} p{p} d{d}", t => F.ConvWindows(t[0], k, s, p, d, (float)value), r => Reference(Ops.ConvWindows, attributes, r), x);
            CheckExact(dtype, $"ConvWindows k{k} s{s} p{p} d{d} by formula", t => F.ConvWindows(t[0], k, s, p, d, (float)value), r => Windows(r[0], k, s, p, d, value, channelsInnermost: false), x);
        }
    }

    private static RefTensor Windows(RefTensor x, int k, int s, int p, int d, double fill, bool channelsInnermost)
    {
        int batch = x.Shape[0], channels = x.Shape[1], height = x.Shape[2], width = x.Shape[3];
        int outH = (height + 2 * p - d * (k - 1) - 1) / s + 1, outW = (width + 2 * p - d * (k - 1) - 1) / s + 1;
        var shape = channelsInnermost ? new[] { batch, outH, outW, k * k * channels } : new[] { batch, outH, outW, k * k, channels };
        var y = RefTensor.Derived(shape, x);
        for (int b = 0; b < batch; b++)
            for (int oy = 0; oy < outH; oy++)
                for (int ox = 0; ox < outW; ox++)
                    for (int c = 0; c < channels; c++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++)
                            {
                                int iy = oy * s - p + ky * d, ix = ox * s - p + kx * d;
                                double v = iy < 0 || iy >= height || ix < 0 || ix >= width ? fill : x[b, c, iy, ix];
                                if (channelsInnermost) y[b, oy, ox, (ky * k + kx) * channels + c] = v;
                                else y[b, oy, ox, ky * k + kx, c] = v;
                            }
        return y;
    }

    [Theory]
    [MemberData(nameof(DTypesAndBatches), MemberType = typeof(OperatorCheck))]
    public void SliceWithStepAndNegativeBounds(DType dtype, int batch)
    {
        var x = TestData.Random(TestData.NewSeed(), batch, 5, 11);
        foreach (var (axis, start, end, step) in new[] { (2, 1, 11, 3), (2, -4, -1, 1), (1, 0, 5, 2), (-1, 2, 100, 4), (1, -100, 3, 1), (2, 10, 11, 5) })
        {
            var attributes = AttributeSet.Of(OpAttribute.Int("axis", axis), OpAttribute.Int("start", start), OpAttribute.Int("end", end), OpAttribute.Int("step", step));
            string what = $"Slice axis {axis} [{start}:{end}:{step}]";
            CheckExact(dtype, what, t => F.Slice(t[0], axis, start, end, step), r => Reference(Ops.Slice, attributes, r), x);
            CheckExact(dtype, what + " by formula", t => F.Slice(t[0], axis, start, end, step), r => PythonSlice(r[0], axis < 0 ? axis + 3 : axis, start, end, step), x);
        }
    }

    [Theory]
    [MemberData(nameof(DTypes), MemberType = typeof(OperatorCheck))]
    public void NarrowTakesLengthElementsFromStart(DType dtype)
    {
        var x = TestData.Random(TestData.NewSeed(), 3, 5, 11);
        foreach (var (axis, start, length) in new[] { (1, 1, 3), (2, 0, 11), (-1, 4, 2) })
        {
            var attributes = AttributeSet.Of(OpAttribute.Int("axis", axis), OpAttribute.Int("start", start), OpAttribute.Int("length", length));
            CheckExact(dtype, $"Narrow axis {axis} {start}+{length}", t => F.Narrow(t[0], axis, start, length), r => Reference(Ops.Narrow, attributes, r), x);
            CheckExact(dtype, $"Narrow axis {axis} {start}+{length} by formula", t => F.Narrow(t[0], axis, start, length),
                r => PythonSlice(r[0], axis < 0 ? axis + 3 : axis, start, start + length, 1), x);
        }
    }

    [Theory]
    [MemberData(nameof(DTypesAndBatches), MemberType = typeof(OperatorCheck))]
    public void PadOnTwoAxesWithAValue(DType dtype, int batch)
    {
        var x = TestData.Random(TestData.NewSeed(), batch, 5, 7);
        foreach (var (pads, value) in new[] { (new[] { 1, 2, 3, 0 }, 0.75f), ([0, 3], -2f), ([2, 1, 0, 0, 1, 1], 0f), ([0, 0, 1, 1], 1.5f) })
        {
            var attributes = AttributeSet.Of(OpAttribute.IntList("pads", pads.Select(p => (long)p)), OpAttribute.Real("value", value));
            string what = $"Pad [{string.Join(", ", pads)}] with {value}";
            CheckExact(dtype, what, t => F.Pad(t[0], pads, value), r => Reference(Ops.Pad, attributes, r), x);
            CheckExact(dtype, what + " by formula", t => F.Pad(t[0], pads, value), r => Pad(r[0], pads, value), x);
        }
    }

    [Theory]
    [MemberData(nameof(DTypesAndBatches), MemberType = typeof(OperatorCheck))]
    public void TransposeFlattenExpand(DType dtype, int batch)
    {
        var x = TestData.Random(TestData.NewSeed(), batch, 3, 5, 7);
        foreach (var (d0, d1) in new[] { (1, 2), (-1, 0), (3, 3), (2, -3) })
        {
            var attributes = AttributeSet.Of(OpAttribute.Int("dim0", d0), OpAttribute.Int("dim1", d1));
            var order = Enumerable.Range(0, 4).ToArray();
            (order[(d0 + 4) % 4], order[(d1 + 4) % 4]) = (order[(d1 + 4) % 4], order[(d0 + 4) % 4]);
            CheckExact(dtype, $"Transpose {d0} {d1}", t => F.Transpose(t[0], d0, d1), r => Reference(Ops.Transpose, attributes, r), x);
            CheckExact(dtype, $"Transpose {d0} {d1} vs Ref.Permute", t => F.Transpose(t[0], d0, d1), r => Ref.Permute(r[0], order), x);
        }
        foreach (var (start, end, shape) in new[] { (1, -1, new[] { batch, 105 }), (0, 1, [batch * 3, 5, 7]), (2, 3, [batch, 3, 35]), (1, 1, [batch, 3, 5, 7]) })
        {
            var attributes = AttributeSet.Of(OpAttribute.Int("start", start), OpAttribute.Int("end", end));
            CheckExact(dtype, $"Flatten {start}..{end}", t => F.Flatten(t[0], start, end), r => Reference(Ops.Flatten, attributes, r), x);
            CheckExact(dtype, $"Flatten {start}..{end} vs Ref.Reshape", t => F.Flatten(t[0], start, end), r => Ref.Reshape(r[0], shape), x);
        }
        CheckExact(dtype, "Flatten()", t => F.Flatten(t[0]), r => Ref.Reshape(r[0], batch, 105), x);
        // Expand: a new leading axis, −1 keeping an axis, size-1 axes repeated.
        var row = TestData.Random(TestData.NewSeed(), batch, 1, 7);
        foreach (var shape in new[] { new[] { 2, batch, 5, 7 }, [2, -1, 5, -1], [batch, 3, 7], [4, 1, batch, 1, 7] })
        {
            var attributes = AttributeSet.Of(OpAttribute.IntList("shape", shape.Select(d => (long)d)));
            CheckExact(dtype, $"Expand to [{string.Join(", ", shape)}]", t => F.Expand(t[0], shape), r => Reference(Ops.Expand, attributes, r), row);
            CheckExact(dtype, $"Expand to [{string.Join(", ", shape)}] by formula", t => F.Expand(t[0], shape), r => Expand(r[0], shape), row);
        }
    }

    [Theory]
    [MemberData(nameof(DTypesAndBatches), MemberType = typeof(OperatorCheck))]
    public void ExpandAsBroadcastsToTheOtherShape(DType dtype, int batch)
    {
        // A [1, 1, C] class token over [B, T, C], a [T, 1] column, a [C] row; the second operand's values are never read.
        int seed = TestData.NewSeed();
        var like = TestData.Random(seed, batch, 5, 7);
        foreach (var shape in new[] { new[] { 1, 1, 7 }, [5, 1], [7], [batch, 5, 7] })
        {
            var x = TestData.Random(seed + shape.Length, shape);
            string what = $"ExpandAs {x} as {like}";
            CheckExact(dtype, what, t => F.ExpandAs(t[0], t[1]), r => Reference(Ops.ExpandAs, AttributeSet.Empty, r), x, like);
            CheckExact(dtype, what + " by formula", t => F.ExpandAs(t[0], t[1]), r => Expand(r[0], r[1].Shape), x, like);
        }
    }

    [Fact]
    public void ExpandAsReadsOnlyTheShapeOfTheOtherTensor()
    {
        // torch's expand_as keeps x's dtype whatever the other tensor's: eagerly in half precision, an f32 class token
        // (F.Value of a Parameter) expanded as the f16 activations is the documented use.
        var token = TestData.Random(TestData.NewSeed(), 1, 1, 7);
        using var x = token.ToCpu(DType.Float32);
        using var like = CpuTensor.Zeros(DType.Float16, 3, 1, 7);
        using var y = F.ExpandAs(x, like);
        Assert.Equal(DType.Float32, y.DType);
        Tolerance.AssertClose(y, Expand(token, [3, 1, 7]), 0, 0, "ExpandAs of an f32 tensor as an f16 one");
    }

    [Theory]
    [MemberData(nameof(DTypesAndBatches), MemberType = typeof(OperatorCheck))]
    public void SwinLayoutsMatchDescriptorsAndRef(DType dtype, int batch)
    {
        // Reshape, Permute, Select, Roll, WindowPartition/Reverse and PatchMerging run on the backend's own kernels; their
        // descriptors' references must describe the same layouts as the hand-written Ref.* the backend was checked against.
        int seed = TestData.NewSeed();
        var image = TestData.Random(seed, batch, 6, 9, 5);
        var windowed = AttributeSet.Of(OpAttribute.Int("window", 3));
        CheckExact(dtype, "Reshape", t => F.Reshape(t[0], batch, -1, 5), r => Reference(Ops.Reshape, AttributeSet.Of(OpAttribute.IntList("shape", [batch, -1, 5])), r), image);
        CheckExact(dtype, "Permute", t => F.Permute(t[0], 0, 3, 1, 2), r => Reference(Ops.Permute, AttributeSet.Of(OpAttribute.IntList("axes", [0, 3, 1, 2])), r), image);
        CheckExact(dtype, "Permute vs Ref", t => F.Permute(t[0], 0, 3, 1, 2), r => Ref.Permute(r[0], 0, 3, 1, 2), image);
        CheckExact(dtype, "Select", t => F.Select(t[0], 2, 4), r => Reference(Ops.Select, AttributeSet.Of(OpAttribute.Int("axis", 2), OpAttribute.Int("index", 4)), r), image);
        CheckExact(dtype, "Select vs Ref", t => F.Select(t[0], 2, 4), r => Ref.Select(r[0], 2, 4), image);
        CheckExact(dtype, "Roll", t => F.Roll(t[0], -2, 1, 2), r => Reference(Ops.Roll, AttributeSet.Of(OpAttribute.Int("shift", -2), OpAttribute.IntList("axes", [1, 2])), r), image);
        CheckExact(dtype, "Roll vs Ref", t => F.Roll(t[0], -2, 1, 2), r => Ref.Roll(r[0], -2, 1, 2), image);
        CheckExact(dtype, "WindowPartition", t => F.WindowPartition(t[0], 3), r => Reference(Ops.WindowPartition, windowed, r), image);
        CheckExact(dtype, "WindowPartition vs Ref", t => F.WindowPartition(t[0], 3), r => Ref.WindowPartition(r[0], 3), image);
        var windows = TestData.Random(seed + 1, batch * 6, 9, 5);
        var reverse = AttributeSet.Of(OpAttribute.Int("window", 3), OpAttribute.Int("height", 6), OpAttribute.Int("width", 9));
        CheckExact(dtype, "WindowReverse", t => F.WindowReverse(t[0], 3, 6, 9), r => Reference(Ops.WindowReverse, reverse, r), windows);
        CheckExact(dtype, "WindowReverse vs Ref", t => F.WindowReverse(t[0], 3, 6, 9), r => Ref.WindowReverse(r[0], 3, 6, 9), windows);
        var even = TestData.Random(seed + 2, batch, 4, 6, 5);
        CheckExact(dtype, "PatchMerging", t => F.PatchMerging(t[0]), r => Reference(Ops.PatchMerging, AttributeSet.Empty, r), even);
        CheckExact(dtype, "PatchMerging vs Ref", t => F.PatchMerging(t[0]), r => Ref.PatchMerging(r[0]), even);
    }

    /// <summary>Three [B, T_i, C] tensors joined along T, by index arithmetic.</summary>
    private static RefTensor ConcatMiddle(RefTensor[] parts)
    {
        int total = parts.Sum(p => p.Shape[1]);
        var y = RefTensor.Derived([parts[0].Shape[0], total, parts[0].Shape[2]], parts);
        int at = 0;
        foreach (var part in parts)
        {
            foreach (var index in RefTensor.Indices(part.Shape)) y[index[0], at + index[1], index[2]] = part[index];
            at += part.Shape[1];
        }
        return y;
    }

    /// <summary>x[..., start:end:step, ...] with Python's rules for negative and out-of-range bounds.</summary>
    private static RefTensor PythonSlice(RefTensor x, int axis, int start, int end, int step)
    {
        int n = x.Shape[axis];
        int Clamp(int i) => Math.Clamp(i < 0 ? i + n : i, 0, n);
        var picked = new List<int>();
        for (int i = Clamp(start); i < Clamp(end); i += step) picked.Add(i);
        var shape = (int[])x.Shape.Clone();
        shape[axis] = picked.Count;
        var y = RefTensor.Derived(shape, x);
        foreach (var index in RefTensor.Indices(shape))
        {
            var source = (int[])index.Clone();
            source[axis] = picked[index[axis]];
            y[index] = x[source];
        }
        return y;
    }

    /// <summary>torch.nn.functional.pad: (before, after) pairs from the last axis backwards, new elements = value.</summary>
    private static RefTensor Pad(RefTensor x, int[] pads, double value)
    {
        var shape = (int[])x.Shape.Clone();
        var before = new int[x.Rank];
        for (int k = 0; k < pads.Length / 2; k++)
        {
            int axis = x.Rank - 1 - k;
            before[axis] = pads[2 * k];
            shape[axis] += pads[2 * k] + pads[2 * k + 1];
        }
        var y = RefTensor.Derived(shape, x);
        Array.Fill(y.Data, value);
        foreach (var index in RefTensor.Indices(x.Shape)) y[index.Select((v, i) => v + before[i]).ToArray()] = x[index];
        return y;
    }

    /// <summary>torch.expand: new leading axes and size-1 axes repeat, −1 keeps an axis.</summary>
    private static RefTensor Expand(RefTensor x, int[] target)
    {
        int shift = target.Length - x.Rank;
        var shape = target.Select((d, i) => d == -1 ? x.Shape[i - shift] : d).ToArray();
        var y = RefTensor.Derived(shape, x);
        foreach (var index in RefTensor.Indices(shape))
            y[index] = x[x.Shape.Select((d, i) => d == 1 ? 0 : index[i + shift]).ToArray()];
        return y;
    }
}
