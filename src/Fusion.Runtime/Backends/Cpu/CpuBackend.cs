using Fusion.Kernels.Cpu;
using static Fusion.OperandChecks;

namespace Fusion;

/// <summary>
/// The reference-quality eager backend: every operator of <see cref="IBackend"/> on host memory,
/// float32 and float16 (computed in float32, rounded once on store). Operand checks and result
/// shapes come from the shared <see cref="OperandRules{T}"/>; the arithmetic lives in the *Ops
/// classes and Fusion.Kernels.Cpu.
/// </summary>
public sealed class CpuBackend : IBackend
{
    private static readonly OperandRules<CpuTensor> Rules = OperandChecks.Cpu;
    private readonly ParameterCache _parameters = new();

    private CpuBackend()
    {
    }

    public static CpuBackend Instance { get; } = new();

    /// <summary>
    /// Does nothing: the CPU backend is one shared instance (<see cref="F.Eager"/>'s default, what <see cref="Backends.Create(Devices.DevicePreference?, TextWriter?)"/>
    /// returns without a GPU), so disposing one user's reference must leave it working for the others. What it holds,
    /// the parameter copies, is managed memory the GC frees.
    /// </summary>
    public void Dispose()
    {
    }

    public string Name => "cpu";

    public DeviceKind Device => DeviceKind.Cpu;

    public Tensor Param(Parameter parameter, DType dtype)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        return _parameters.Get(parameter, dtype);
    }

    public Tensor ParamCopy(Parameter parameter, DType dtype)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        return dtype == parameter.Value.DType ? ElementwiseOps.Copy(parameter.Value) : ElementwiseOps.Cast(parameter.Value, dtype);
    }

    public void AdoptConstants(IReadOnlyList<Tensor> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        _parameters.AdoptConstants(values.OfType<CpuTensor>());
    }

    public Tensor FromHost(CpuTensor host) => ElementwiseOps.Copy(Host(host, "FromHost host"));

    public CpuTensor ToHost(Tensor tensor) => ElementwiseOps.Copy(Host(tensor, "ToHost tensor"));

    public Tensor Cast(Tensor x, DType dtype) => ElementwiseOps.Cast(Rules.Cast(x, dtype), dtype);

    public Tensor Linear(Tensor x, Tensor weight, Tensor? bias)
    {
        var (input, w, b, shape) = Rules.Linear(x, weight, bias);
        return MatrixOps.Linear(input, w, b, shape, packed: _parameters.PackedWeight(w));
    }

    public Tensor MatMul(Tensor a, Tensor b, bool transposeB)
    {
        var (left, right, shape) = Rules.MatMul(a, b, transposeB);
        return MatrixOps.MatMul(left, right, transposeB, shape);
    }

    public Tensor Add(Tensor a, Tensor b)
    {
        var (left, right, shape) = Rules.Add(a, b);
        return ElementwiseOps.Add(left, right, shape);
    }

    public Tensor Mul(Tensor x, float scalar) => ElementwiseOps.Mul(Float(x, "Mul x"), scalar);

    public Tensor Gelu(Tensor x) => ElementwiseOps.Gelu(Float(x, "Gelu x"));

    public Tensor Relu(Tensor x) => ElementwiseOps.Relu(Float(x, "Relu x"));

    public Tensor LayerNorm(Tensor x, Tensor weight, Tensor bias, float eps)
    {
        var (input, w, b) = Rules.LayerNorm(x, weight, bias);
        return NormalizationOps.LayerNorm(input, w, b, eps, input.DType);
    }

    public Tensor LayerNorm(Tensor x, Tensor weight, Tensor bias, float eps, DType dtype)
    {
        var (input, w, b) = Rules.LayerNorm(x, weight, bias, dtype);
        return NormalizationOps.LayerNorm(input, w, b, eps, dtype);
    }

    public Tensor Softmax(Tensor x) => NormalizationOps.Softmax(Rules.Softmax(x));

    public Tensor Reshape(Tensor x, Shape shape) => Rules.Reshape(x, shape).View(shape);

    public Tensor Permute(Tensor x, ReadOnlySpan<int> axes)
    {
        var (input, order, shape) = Rules.Permute(x, axes);
        return LayoutOps.Permute(input, order, shape);
    }

    public Tensor Select(Tensor x, int axis, int index)
    {
        var (input, a, shape) = Rules.Select(x, axis, index);
        return LayoutOps.Select(input, a, index, shape);
    }

    public Tensor Roll(Tensor x, int shift, ReadOnlySpan<int> axes)
    {
        var (input, shifts) = Rules.Roll(x, shift, axes);
        return LayoutOps.Roll(input, shifts);
    }

    public Tensor WindowPartition(Tensor x, int window)
    {
        var (input, shape) = Rules.WindowPartition(x, window);
        return LayoutOps.WindowPartition(input, window, shape);
    }

    public Tensor WindowReverse(Tensor x, int window, int height, int width)
    {
        var (input, shape) = Rules.WindowReverse(x, window, height, width);
        return LayoutOps.WindowReverse(input, window, shape);
    }

    public Tensor PatchMerging(Tensor x)
    {
        var (input, shape) = Rules.PatchMerging(x);
        return LayoutOps.PatchMerging(input, shape);
    }

    public Tensor Patchify(Tensor x, int patch) => Patchify(x, patch, Float(x, "Patchify x").DType);

    public Tensor Patchify(Tensor x, int patch, DType dtype)
    {
        var (input, shape) = Rules.Patchify(x, patch);
        FloatDType(dtype, "Patchify dtype");
        return LayoutOps.Patchify(input, patch, shape, dtype);
    }

    public Tensor Mean(Tensor x, int firstAxis, int count) => Mean(x, firstAxis, count, Float(x, "Mean x").DType);

    public Tensor Mean(Tensor x, int firstAxis, int count, DType dtype)
    {
        var (input, shape) = Rules.Mean(x, firstAxis, count);
        FloatDType(dtype, "Mean dtype");
        return NormalizationOps.Mean(input, firstAxis, count, shape, dtype);
    }

    public Tensor RelativePositionBias(Tensor table, int window)
    {
        var (input, shape) = Rules.RelativePositionBias(table, window);
        return LayoutOps.RelativePositionBias(input, window, shape);
    }

    public Tensor QkvRelayout(Tensor x, int heads) => QkvRelayoutOps.Run(Rules.QkvRelayout(x, heads), heads);

    public Tensor ShiftedWindowMask(int height, int width, int window, int shift, DType dtype)
    {
        using var y = new FloatOutput(dtype, ShiftedWindowMaskShape(height, width, window, shift, dtype));
        SwinAttention.ShiftedWindowMask(y.Span, height, width, window, shift);
        return y.Finish();
    }

    public Tensor[] Run(GeneratedKernel kernel, int batch, DType io, params Tensor[] inputs)
    {
        KernelOperands.Check(kernel, batch, io, inputs);
        return LoopInterpreter.Run(kernel.Ir, batch, io, inputs.Select((t, i) => Host(t, $"{kernel.Name} input {i}")).ToList());
    }

    /// <summary>
    /// One GEMM that applies the epilogue to its tiles as it stores them, when the epilogue is bias, activation and residual in
    /// either order (<see cref="GemmKernel.Cublas"/>) storing the product's shape; otherwise the product in float32, then the epilogue kernel
    /// on it. Either way the result is rounded once, on the final store. An int8 GEMM (<see cref="GemmKernel.Int8"/>) computes the
    /// exact int32 sums (<see cref="Fusion.Kernels.Cpu.Int8Gemm"/>), each converted to the nearest float32 as the GPU's template does,
    /// then the epilogue kernel (the dequantize, bias, …). An FP8 GEMM (<see cref="GemmKernel.Fp8"/>) decodes the E4M3 codes (exact in
    /// float32), multiplies them in float32 and runs the epilogue kernel.
    /// </summary>
    public Tensor[] Gemm(GemmKernel kernel, int batch, DType io, Tensor x, Tensor weight, params Tensor[] epilogueInputs)
    {
        var shape = KernelOperands.Product(kernel, x, weight);
        var w = Host(weight, $"{kernel.Name} weight");
        var inputs = KernelOperands.EpilogueInputs(kernel, null, epilogueInputs);
        var outputs = KernelOperands.Check(kernel.Epilogue, batch, io, inputs);
        // A float convolution's GEMM reads its image, gathering the windows block by block; an int8 or FP8 one multiplies its stored
        // im2col matrix.
        var implicitConvolution = kernel.Int8 || kernel.Fp8 ? null : kernel.Conv;
        using var gathered = kernel.Conv is { } conv && implicitConvolution is null ? Run(conv.Gather(kernel.Name, x.DType), x.Shape[0], io, x)[0] : null;
        var input = gathered is null ? Host(x, $"{kernel.Name} {(implicitConvolution is null ? "x" : "image")}") : Host(gathered, $"{kernel.Name} im2col");
        if (kernel.Int8)
        {
            using var sums = MatrixOps.Int8Product(input, w, shape);
            return Run(kernel.Epilogue, batch, io, KernelOperands.EpilogueInputs(kernel, sums, epilogueInputs));
        }
        if (kernel.Fp8)
        {
            using var decoded = MatrixOps.Fp8Product(input, w, shape);
            return Run(kernel.Epilogue, batch, io, KernelOperands.EpilogueInputs(kernel, decoded, epilogueInputs));
        }
        if (TileEpilogue(kernel, shape, input.DType, outputs, epilogueInputs) is { } tile)
        {
            var bias = tile.Bias < 0 ? null : Host(epilogueInputs[tile.Bias], $"{kernel.Name} bias");
            var residual = tile.Residual < 0 ? null : Host(epilogueInputs[tile.Residual], $"{kernel.Name} residual");
            return [MatrixOps.Linear(input, w, bias, shape, outputs[0].DType, _parameters.PackedWeight(w), tile.Activation, residual, tile.ResidualFirst, implicitConvolution)];
        }
        using var product = MatrixOps.Linear(input, w, null, shape, DType.Float32, _parameters.PackedWeight(w), conv: implicitConvolution);
        return Run(kernel.Epilogue, batch, io, KernelOperands.EpilogueInputs(kernel, product, epilogueInputs));
    }

    /// <summary>The epilogue as the GEMM's tile epilogue, or null when it does more (another activation, other outputs or shapes).</summary>
    private static (int Bias, TileActivation Activation, int Residual, bool ResidualFirst)? TileEpilogue(GemmKernel kernel, Shape product, DType type, (Shape Shape, DType DType)[] outputs,
        Tensor[] epilogueInputs)
    {
        // A cast to the run's io type is the tile's store only where io is the GEMM's own type (else the epilogue rounds to it first).
        if (kernel.Cublas is not { } form || outputs.Length != 1 || outputs[0].Shape != product || !form.Finishes(type, outputs[0].DType)) return null;
        if (form.Residual >= 0 && epilogueInputs[form.Residual].Shape != product) return null;
        TileActivation? activation = form.Activation switch
        {
            Activation.None => TileActivation.None,
            Activation.Relu => TileActivation.Relu,
            Activation.Gelu => TileActivation.Gelu,
            _ => null, // the tanh form: the epilogue kernel computes it
        };
        return activation is { } a ? (form.Bias, a, form.Residual, form.ResidualFirst) : null;
    }

    public Tensor WindowAttention(Tensor qkv, Tensor bias, Tensor? mask, int heads, float scale, FusedKernel kernel) =>
        FusedOps.WindowAttention(qkv, bias, mask, heads, scale, kernel);

    public Tensor Attention(Tensor q, Tensor k, Tensor v, Tensor? bias, AttentionLayout layout, float scale, bool causal, FusedKernel kernel) =>
        FusedOps.Attention(q, k, v, bias, layout, scale, causal, kernel);
}
