using Fusion.Compiler;

namespace Fusion;

/// <summary>
/// The operator vocabulary a <c>Forward</c> method is written in (like torch.nn.functional).
/// The source generator reads calls to these methods; called directly they run eagerly on
/// <see cref="Eager"/> (the CPU backend unless changed), which is handy for debugging a model.
/// Every call returns a new tensor, which an open <see cref="EagerScope"/> of the calling thread
/// takes charge of (so an eager Forward's intermediates can be freed together).
/// </summary>
public static class F
{
    /// <summary>The backend that eager calls run on.</summary>
    public static IBackend Eager { get; set; } = CpuBackend.Instance;

    public static Tensor Linear(Tensor x, Linear layer)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(layer);
        Quantization.LinearInputCalibration.Observe(layer.weight, x); // nothing unless a calibration is open on this thread
        var bias = layer.bias is null ? null : Eager.Param(layer.bias, x.DType);
        if (Quantization.SimulatedInt8.Operands(layer.weight, x) is { } simulated) // the layer's int8 rounding simulated
            using (simulated.Input) return EagerScope.Track(Eager.Linear(simulated.Input, simulated.Weight, bias));
        return EagerScope.Track(Eager.Linear(x, Eager.Param(layer.weight, x.DType), bias));
    }

    /// <summary>Patch embedding: [B, C, H, W] → [B, H/p, W/p, out] as a GEMM over patches.</summary>
    public static Tensor PatchConv(Tensor x, PatchConv layer)
    {
        using var patches = Eager.Patchify(x, layer.Patch);
        using var weight = Eager.Reshape(Eager.Param(layer.weight, x.DType), new Shape(layer.OutChannels, layer.InChannels * layer.Patch * layer.Patch));
        return EagerScope.Track(Eager.Linear(patches, weight, Eager.Param(layer.bias, x.DType)));
    }

    /// <summary>2-d convolution, NCHW in and out, like torch.nn.functional.conv2d with the layer's settings.</summary>
    public static Tensor Conv2d(Tensor x, Conv2d layer)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(layer);
        // A one-group convolution is a Linear over its windows, which the Int8 plan quantizes: its input's range is calibrated too.
        if (layer.Groups == 1) Quantization.LinearInputCalibration.Observe(layer.weight, x);
        var simulated = layer.Groups == 1 ? Quantization.SimulatedInt8.Operands(layer.weight, x) : null;
        using var _ = simulated?.Input;
        return EagerScope.Track(EagerTranslation.Run(Eager, Ops.Conv2d, [simulated?.Input ?? x], AttributeSet.Empty,
            new Dictionary<string, Tensor?>
            {
                ["weight"] = simulated?.Weight ?? Eager.Param(layer.weight, x.DType),
                ["bias"] = layer.bias is null ? null : Eager.Param(layer.bias, x.DType),
            },
            new Dictionary<string, object>
            {
                ["inChannels"] = (long)layer.InChannels, ["outChannels"] = (long)layer.OutChannels, ["kernel"] = (long)layer.Kernel,
                ["stride"] = (long)layer.Stride, ["padding"] = (long)layer.Padding, ["dilation"] = (long)layer.Dilation, ["groups"] = (long)layer.Groups,
            }));
    }

    /// <summary>Batch normalization of NCHW with the layer's running statistics (inference form).</summary>
    public static Tensor BatchNorm2d(Tensor x, BatchNorm2d layer)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(layer);
        return EagerScope.Track(EagerTranslation.Run(Eager, Ops.BatchNorm2d, [x], AttributeSet.Empty,
            new Dictionary<string, Tensor?>
            {
                ["weight"] = Eager.Param(layer.weight, x.DType), ["bias"] = Eager.Param(layer.bias, x.DType),
                ["running_mean"] = Eager.Param(layer.running_mean, x.DType), ["running_var"] = Eager.Param(layer.running_var, x.DType),
            },
            new Dictionary<string, object> { ["channels"] = (long)layer.Channels, ["eps"] = (double)layer.Eps }));
    }

    /// <summary>Max pooling of NCHW over <paramref name="kernel"/>² windows; padding (at most half the kernel) never wins.</summary>
    public static Tensor MaxPool2d(Tensor x, int kernel, int stride, int padding = 0) => EagerScope.Track(EagerTranslation.Run(Eager, Ops.MaxPool2d, [x], PoolAttributes(kernel, stride, padding)));

    /// <summary>Average pooling of NCHW over <paramref name="kernel"/>² windows, padding counted as zeros (PyTorch's count_include_pad).</summary>
    public static Tensor AvgPool2d(Tensor x, int kernel, int stride, int padding = 0) => EagerScope.Track(EagerTranslation.Run(Eager, Ops.AvgPool2d, [x], PoolAttributes(kernel, stride, padding)));

    /// <summary>Adaptive average pooling of NCHW to <paramref name="outputSize"/>² (1: global pooling, [B, C, 1, 1]).</summary>
    public static Tensor AdaptiveAvgPool2d(Tensor x, int outputSize) => EagerScope.Track(
        EagerTranslation.Run(Eager, Ops.AdaptiveAvgPool2d, [x], AttributeSet.Of(OpAttribute.Int("outputSize", outputSize))));

    /// <summary>LayerNorm over the channels of NCHW (ConvNeXt's channels-first LayerNorm).</summary>
    public static Tensor LayerNorm2d(Tensor x, LayerNorm norm)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(norm);
        return EagerScope.Track(EagerTranslation.Run(Eager, Ops.LayerNorm2d, [x], AttributeSet.Empty,
            new Dictionary<string, Tensor?> { ["weight"] = Eager.Param(norm.weight, x.DType), ["bias"] = Eager.Param(norm.bias, x.DType) },
            new Dictionary<string, object> { ["dim"] = (long)norm.Dim, ["eps"] = (double)norm.Eps }));
    }

    /// <summary>
    /// [B, C, H, W] → [B, OH, OW, k·k·C]: each output position's convolution window as one row, ordered (ky, kx, c), padding read
    /// as 0 (im2col, the operand a one-group Conv2d's GEMM reads).
    /// </summary>
    public static Tensor Im2col(Tensor x, int kernel, int stride = 1, int padding = 0, int dilation = 1) => EagerScope.Track(
        Pointwise(Ops.Im2col, WindowAttributes(kernel, stride, padding, dilation), x));

    /// <summary>
    /// [B, C, H, W] → [B, OH, OW, k·k, C]: each channel's window at each output position (what pooling reduces over axis 3), padding read as
    /// <paramref name="value"/>.
    /// </summary>
    public static Tensor ConvWindows(Tensor x, int kernel, int stride = 1, int padding = 0, int dilation = 1, float value = 0) => EagerScope.Track(
        Pointwise(Ops.ConvWindows, WindowAttributes(kernel, stride, padding, dilation).With(OpAttribute.Real("value", value)), x));

    private static AttributeSet WindowAttributes(int kernel, int stride, int padding, int dilation) =>
        AttributeSet.Of(OpAttribute.Int("kernel", kernel), OpAttribute.Int("stride", stride), OpAttribute.Int("padding", padding), OpAttribute.Int("dilation", dilation));

    private static AttributeSet PoolAttributes(int kernel, int stride, int padding) =>
        AttributeSet.Of(OpAttribute.Int("kernel", kernel), OpAttribute.Int("stride", stride), OpAttribute.Int("padding", padding));

    /// <summary>A parameter used directly as a tensor (a learned bias, position embedding or scale).</summary>
    public static Tensor Value(Parameter parameter)
    {
        var value = Eager.Param(parameter, DType.Float32);
        return EagerScope.Track(Eager.Reshape(value, value.Shape)); // a new tensor object: the backend keeps its own copy
    }

    public static Tensor MatMul(Tensor a, Tensor b, bool transposeB = false) => EagerScope.Track(Eager.MatMul(a, b, transposeB));

    /// <summary>
    /// a + b with broadcasting. Eagerly, an f32 operand met with an f16 one is converted to f16 first, as
    /// the compiled plan converts parameters and constants (bias tables, masks) to the run's precision.
    /// </summary>
    public static Tensor Add(Tensor a, Tensor b)
    {
        if (a.DType == b.DType || !IsFloat(a.DType) || !IsFloat(b.DType)) return EagerScope.Track(Eager.Add(a, b));
        if (a.DType == DType.Float32)
        {
            using var narrowed = Eager.Cast(a, DType.Float16);
            return EagerScope.Track(Eager.Add(narrowed, b));
        }
        using var narrowedB = Eager.Cast(b, DType.Float16);
        return EagerScope.Track(Eager.Add(a, narrowedB));
    }

    private static bool IsFloat(DType dtype) => dtype is DType.Float32 or DType.Float16;

    /// <summary>a + b for a scalar b.</summary>
    public static Tensor Add(Tensor a, float b) => EagerScope.Track(Pointwise(Ops.Add, a, b));

    /// <summary>a − b with broadcasting.</summary>
    public static Tensor Sub(Tensor a, Tensor b) => EagerScope.Track(Pointwise(Ops.Sub, a, b));

    public static Tensor Sub(Tensor a, float b) => EagerScope.Track(Pointwise(Ops.Sub, a, b));

    public static Tensor Sub(float a, Tensor b) => EagerScope.Track(Pointwise(Ops.Sub, a, b));

    /// <summary>a · b with broadcasting (a layer scale, a gate).</summary>
    public static Tensor Mul(Tensor a, Tensor b) => EagerScope.Track(Pointwise(Ops.Mul, a, b));

    /// <summary>a · b for a scalar b.</summary>
    public static Tensor Mul(Tensor a, float b) => EagerScope.Track(Eager.Mul(a, b));

    /// <summary>a / b with broadcasting.</summary>
    public static Tensor Div(Tensor a, Tensor b) => EagerScope.Track(Pointwise(Ops.Div, a, b));

    public static Tensor Div(Tensor a, float b) => EagerScope.Track(Pointwise(Ops.Div, a, b));

    public static Tensor Div(float a, Tensor b) => EagerScope.Track(Pointwise(Ops.Div, a, b));

    public static Tensor Neg(Tensor x) => EagerScope.Track(Pointwise(Ops.Neg, x));

    public static Tensor Abs(Tensor x) => EagerScope.Track(Pointwise(Ops.Abs, x));

    public static Tensor Exp(Tensor x) => EagerScope.Track(Pointwise(Ops.Exp, x));

    /// <summary>Natural logarithm.</summary>
    public static Tensor Log(Tensor x) => EagerScope.Track(Pointwise(Ops.Log, x));

    public static Tensor Sqrt(Tensor x) => EagerScope.Track(Pointwise(Ops.Sqrt, x));

    /// <summary>1/√x.</summary>
    public static Tensor Rsqrt(Tensor x) => EagerScope.Track(Pointwise(Ops.Rsqrt, x));

    /// <summary>x raised to a constant exponent (2 and 0.5 become a product and a square root).</summary>
    public static Tensor Pow(Tensor x, float exponent) => EagerScope.Track(Pointwise(Ops.Pow, AttributeSet.Of(OpAttribute.Real("exponent", exponent)), x));

    public static Tensor Tanh(Tensor x) => EagerScope.Track(Pointwise(Ops.Tanh, x));

    /// <summary>1 / (1 + e^−x).</summary>
    public static Tensor Sigmoid(Tensor x) => EagerScope.Track(Pointwise(Ops.Sigmoid, x));

    /// <summary>SiLU (swish): x · sigmoid(x).</summary>
    public static Tensor Silu(Tensor x) => EagerScope.Track(Pointwise(Ops.Silu, x));

    /// <summary>GELU, exact erf form: x·½·(1 + erf(x/√2)).</summary>
    public static Tensor Gelu(Tensor x) => EagerScope.Track(Eager.Gelu(x));

    /// <summary>GELU, tanh approximation (PyTorch's approximate='tanh').</summary>
    public static Tensor GeluTanh(Tensor x) => EagerScope.Track(Pointwise(Ops.GeluTanh, x));

    public static Tensor Relu(Tensor x) => EagerScope.Track(Eager.Relu(x));

    /// <summary>x · clamp(x + 3, 0, 6) / 6.</summary>
    public static Tensor HardSwish(Tensor x) => EagerScope.Track(Pointwise(Ops.HardSwish, x));

    /// <summary>min(max(x, min), max); pass ±infinity to leave a side open.</summary>
    public static Tensor Clamp(Tensor x, float min, float max) => EagerScope.Track(
        Pointwise(Ops.Clamp, AttributeSet.Of(OpAttribute.Real("min", min), OpAttribute.Real("max", max)), x));

    /// <summary>condition ≠ 0 ? a : b, all three broadcast.</summary>
    public static Tensor Where(Tensor condition, Tensor a, Tensor b) => EagerScope.Track(Pointwise(Ops.Where, condition, a, b));

    public static Tensor Where(Tensor condition, Tensor a, float b) => EagerScope.Track(Pointwise(Ops.Where, condition, a, b));

    public static Tensor Where(Tensor condition, float a, Tensor b) => EagerScope.Track(Pointwise(Ops.Where, condition, a, b));

    /// <summary>value where mask ≠ 0, else x (the mask broadcast to x), like torch.masked_fill.</summary>
    public static Tensor MaskedFill(Tensor x, Tensor mask, float value) => EagerScope.Track(
        Pointwise(Ops.MaskedFill, AttributeSet.Of(OpAttribute.Real("value", value)), x, mask));

    public static Tensor LayerNorm(Tensor x, LayerNorm norm) => EagerScope.Track(
        Eager.LayerNorm(x, Eager.Param(norm.weight, x.DType), Eager.Param(norm.bias, x.DType), norm.Eps));

    /// <summary>
    /// Scaled dot-product attention, softmax(q·kᵀ·<paramref name="scale"/>)·v, in one kernel (flash attention on CUDA): q [B, H, Tq, d],
    /// k and v [B, H, Tk, d] → [B, H, Tq, d]. <paramref name="causal"/> keeps key j for query i only when j ≤ i (PyTorch's
    /// is_causal). The compiler also finds this attention written out as Softmax(MatMul(q, k, transposeB: true)·scale) → MatMul(·, v).
    /// </summary>
    public static Tensor Attention(Tensor q, Tensor k, Tensor v, float scale, bool causal = false) =>
        EagerScope.Track(Eager.Attention(q, k, v, null, default, scale, causal, AttentionKernels.For(HeadDim(q), causal, bias: false)));

    /// <summary>
    /// <see cref="Attention(Tensor, Tensor, Tensor, float, bool)"/> with <paramref name="bias"/> added to the scaled scores (a mask of
    /// 0 and −∞, or a learned position bias), broadcast from [Tq, Tk], [H|1, Tq, Tk] or [B|1, H|1, Tq, Tk].
    /// </summary>
    public static Tensor Attention(Tensor q, Tensor k, Tensor v, Tensor bias, float scale, bool causal = false) =>
        EagerScope.Track(Eager.Attention(q, k, v, bias, default, scale, causal, AttentionKernels.For(HeadDim(q), causal, bias: true)));

    private static int HeadDim(Tensor q) => q.Rank == 4 && q.Shape[3] > 0
        ? q.Shape[3]
        : throw new TensorMismatchException("Attention q", "[B, H, Tq, d]", $"{q.DType.ShortName()}{q.Shape}");

    /// <summary>Softmax over the last axis.</summary>
    public static Tensor Softmax(Tensor x) => EagerScope.Track(Eager.Softmax(x));

    /// <summary>Softmax along <paramref name="axis"/> (negative counts from the end).</summary>
    public static Tensor Softmax(Tensor x, int axis) => EagerScope.Track(axis == -1 || axis == x.Rank - 1
        ? Eager.Softmax(x)
        : Pointwise(Ops.Softmax, AttributeSet.Of(OpAttribute.Int("axis", axis)), x));

    /// <summary>x/√(mean(x²) + eps)·weight over the last axis.</summary>
    public static Tensor RmsNorm(Tensor x, RmsNorm norm) => EagerScope.Track(
        Pointwise(Ops.RmsNorm, AttributeSet.Of(OpAttribute.Real("eps", norm.Eps)), x, Eager.Param(norm.weight, x.DType)));

    /// <summary>Sum over <paramref name="axes"/> (any, in any order), which are removed.</summary>
    public static Tensor Sum(Tensor x, params int[] axes) => EagerScope.Track(Reduce(Ops.Sum, x, axes, keepDim: false));

    /// <summary>Sum over <paramref name="axes"/>, kept as size-1 axes when <paramref name="keepDim"/>.</summary>
    public static Tensor Sum(Tensor x, int[] axes, bool keepDim) => EagerScope.Track(Reduce(Ops.Sum, x, axes, keepDim));

    /// <summary>Maximum over <paramref name="axes"/>, which are removed.</summary>
    public static Tensor Max(Tensor x, params int[] axes) => EagerScope.Track(Reduce(Ops.Max, x, axes, keepDim: false));

    public static Tensor Max(Tensor x, int[] axes, bool keepDim) => EagerScope.Track(Reduce(Ops.Max, x, axes, keepDim));

    /// <summary>Mean over <paramref name="axes"/>, kept as size-1 axes when <paramref name="keepDim"/>.</summary>
    public static Tensor Mean(Tensor x, int[] axes, bool keepDim) => EagerScope.Track(Reduce(Ops.Mean, x, axes, keepDim));

    /// <summary>Tensors joined along <paramref name="axis"/> (every other axis must agree), like torch.cat.</summary>
    public static Tensor Concat(int axis, params Tensor[] tensors) => EagerScope.Track(
        EagerKernels.Apply(Eager, Ops.Concat, AttributeSet.Of(OpAttribute.Int("axis", axis)), tensors.Cast<object>().ToArray()));

    /// <summary>x[start:end:step] along <paramref name="axis"/> (negative start and end count from the end).</summary>
    public static Tensor Slice(Tensor x, int axis, int start, int end, int step = 1) => EagerScope.Track(Pointwise(Ops.Slice,
        AttributeSet.Of(OpAttribute.Int("axis", axis), OpAttribute.Int("start", start), OpAttribute.Int("end", end), OpAttribute.Int("step", step)), x));

    /// <summary><paramref name="length"/> elements from <paramref name="start"/> along <paramref name="axis"/>, like torch.narrow.</summary>
    public static Tensor Narrow(Tensor x, int axis, int start, int length) => EagerScope.Track(
        Pointwise(Ops.Slice, NarrowOp.AsSlice(axis, start, length, out var error) ?? throw new ArgumentException(error), x));

    /// <summary>
    /// Constant padding like torch.nn.functional.pad: <paramref name="pads"/> are (before, after) pairs from the last axis backwards.
    /// </summary>
    public static Tensor Pad(Tensor x, int[] pads, float value = 0) => EagerScope.Track(
        Pointwise(Ops.Pad, AttributeSet.Of(OpAttribute.IntList("pads", pads.Select(p => (long)p)), OpAttribute.Real("value", value)), x));

    /// <summary>Swaps axes <paramref name="dim0"/> and <paramref name="dim1"/>.</summary>
    public static Tensor Transpose(Tensor x, int dim0, int dim1) => EagerScope.Track(
        Pointwise(Ops.Transpose, AttributeSet.Of(OpAttribute.Int("dim0", dim0), OpAttribute.Int("dim1", dim1)), x));

    /// <summary>Axes <paramref name="start"/> … <paramref name="end"/> merged into one (a view of the same elements).</summary>
    public static Tensor Flatten(Tensor x, int start = 1, int end = -1)
    {
        var shape = Ops.Flatten.InferShape([x.Shape.ToArray().Select(d => Compiler.Dim.Static(d)).ToArray()],
            AttributeSet.Of(OpAttribute.Int("start", start), OpAttribute.Int("end", end)), out var error)
            ?? throw new TensorMismatchException("Flatten", "a range of axes of x", error!);
        return EagerScope.Track(Eager.Reshape(x, new Shape(shape.Select(d => checked((int)d.Value)).ToArray())));
    }

    /// <summary>x broadcast to the shape of <paramref name="like"/> (torch's expand_as): a [1, 1, C] class token over the batch.</summary>
    public static Tensor ExpandAs(Tensor x, Tensor like) => EagerScope.Track(Pointwise(Ops.ExpandAs, x, like));

    /// <summary>Size-1 axes repeated to <paramref name="shape"/> (−1 keeps an axis; new leading axes may be added), like torch.expand.</summary>
    public static Tensor Expand(Tensor x, params int[] shape) => EagerScope.Track(
        Pointwise(Ops.Expand, AttributeSet.Of(OpAttribute.IntList("shape", shape.Select(d => (long)d))), x));

    /// <summary>New shape with the same elements; one dimension may be −1 and is inferred.</summary>
    public static Tensor Reshape(Tensor x, params int[] shape) => EagerScope.Track(Eager.Reshape(x, ResolveShape(x.Shape, shape)));

    public static Tensor Permute(Tensor x, params int[] axes) => EagerScope.Track(Eager.Permute(x, axes));

    public static Tensor Select(Tensor x, int axis, int index) => EagerScope.Track(Eager.Select(x, axis, index));

    public static Tensor Roll(Tensor x, int shift, params int[] axes) => EagerScope.Track(Eager.Roll(x, shift, axes));

    public static Tensor WindowPartition(Tensor x, int window) => EagerScope.Track(Eager.WindowPartition(x, window));

    public static Tensor WindowReverse(Tensor x, int window, int height, int width) => EagerScope.Track(Eager.WindowReverse(x, window, height, width));

    public static Tensor PatchMerging(Tensor x) => EagerScope.Track(Eager.PatchMerging(x));

    /// <summary>[B, C, H, W] → [B, H/p, W/p, C·p²]: each non-overlapping p×p patch as one vector (channel, then row, then column), the layout PatchConv's GEMM reads.</summary>
    public static Tensor Patchify(Tensor x, int patch) => EagerScope.Track(Pointwise(Ops.Patchify, AttributeSet.Of(OpAttribute.Int("patch", patch)), x));

    /// <summary>Mean over <paramref name="axes"/> (e.g. the token axes), which are removed; summed in float32.</summary>
    public static Tensor Mean(Tensor x, params int[] axes)
    {
        if (axes.Length == 0) throw new ArgumentException("Mean needs at least one axis", nameof(axes));
        bool consecutive = axes.Skip(1).Select((a, i) => a == axes[i] + 1).All(b => b) && axes[0] >= 0;
        return EagerScope.Track(consecutive ? Eager.Mean(x, axes[0], axes.Length) : Reduce(Ops.Mean, x, axes, keepDim: false));
    }

    public static Tensor RelativePositionBias(Parameter table, int window) => EagerScope.Track(Eager.RelativePositionBias(Eager.Param(table, DType.Float32), window));

    public static Tensor ShiftedWindowMask(int height, int width, int window, int shift) => EagerScope.Track(
        Eager.ShiftedWindowMask(height, width, window, shift, DType.Float32));

    /// <summary>An operator through its descriptor: a kernel generated for these operands (cached), run on <see cref="Eager"/>.</summary>
    private static Tensor Pointwise(OpDescriptor op, params object[] operands) => EagerKernels.Apply(Eager, op, AttributeSet.Empty, operands);

    private static Tensor Pointwise(OpDescriptor op, AttributeSet attributes, params object[] operands) => EagerKernels.Apply(Eager, op, attributes, operands);

    private static Tensor Reduce(OpDescriptor op, Tensor x, int[] axes, bool keepDim)
    {
        if (axes.Length == 0) throw new ArgumentException($"{op.Name} needs at least one axis", nameof(axes));
        return EagerKernels.Apply(Eager, op, AttributeSet.Of(OpAttribute.IntList("axes", axes.Select(a => (long)a)), OpAttribute.Int("keepDim", keepDim ? 1 : 0)), x);
    }

    /// <summary>Replaces a single −1 in <paramref name="requested"/> by the size that keeps the element count.</summary>
    public static Shape ResolveShape(Shape input, ReadOnlySpan<int> requested)
    {
        var dims = requested.ToArray();
        int inferred = -1;
        long known = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] == -1)
            {
                if (inferred >= 0) throw new TensorMismatchException("reshape", "at most one -1 dimension", Shape.Format(dims));
                inferred = i;
            }
            else if (dims[i] < 0)
            {
                throw new TensorMismatchException("reshape", "dimensions ≥ 0 or -1", Shape.Format(dims));
            }
            else
            {
                known = checked(known * dims[i]);
            }
        }
        if (inferred >= 0)
        {
            if (known == 0 || input.ElementCount % known != 0)
                throw new TensorMismatchException("reshape", $"a shape whose element count divides {input.ElementCount} (input {input})", Shape.Format(dims));
            dims[inferred] = checked((int)(input.ElementCount / known));
        }
        var shape = new Shape(dims);
        if (shape.ElementCount != input.ElementCount)
            throw new TensorMismatchException("reshape", $"{input.ElementCount} elements (input {input})", $"{shape} ({shape.ElementCount} elements)");
        return shape;
    }
}
