using Fusion.Compiler;

namespace Fusion;

/// <summary>
/// Builds the <see cref="GemmKernel"/> a compiled model gets for a Linear layer followed by an activation and a residual add (the
/// chain of a transformer MLP), through the same lowering and template as the generator: for tests and benchmarks that run a GEMM
/// without a model. Rows are the batch: run it with batch = the number of rows.
/// </summary>
public static class GemmKernels
{
    /// <summary>
    /// The fp16 (or float32-epilogue) GEMM: x·wᵀ (+ bias[j]), the activation, (+ residual), stored in <paramref name="dtype"/>; with
    /// <paramref name="residualFirst"/> the residual is added before the activation (a ResNet block's end: relu(x·wᵀ + bias + residual)).
    /// </summary>
    public static GemmKernel Linear(int n, int k, bool bias, Activation activation, bool residual, DType dtype = DType.Float16, bool residualFirst = false) =>
        Build(n, k, bias, activation, residual, dtype, int8: false, residualFirst && residual);

    /// <summary>
    /// The int8 GEMM (the template's int8 variant: x [m, K] and w [N, K] int8, exact int32 sums): float(sum)·scale[j] (scale a float32
    /// [N], the product of the input's scale and the weight's per-channel scale: the epilogue's first input), (+ bias[j], in
    /// <paramref name="dtype"/>), the activation, (+ residual), stored in <paramref name="dtype"/>. The dequantize is an
    /// <c>Ops.Mul</c> of the Linear (which takes no bias) by a [N] parameter, ahead of the bias Add, as the precision pass will emit it.
    /// </summary>
    public static GemmKernel LinearInt8(int n, int k, bool bias, Activation activation, bool residual, DType dtype = DType.Float16) =>
        Build(n, k, bias, activation, residual, dtype, int8: true, residualFirst: false);

    private static GemmKernel Build(int n, int k, bool bias, Activation activation, bool residual, DType dtype, bool int8, bool residualFirst)
    {
        if (n <= 0 || k <= 0) throw new ArgumentOutOfRangeException(nameof(n), $"N = {n} and K = {k} must be positive");
        var type = dtype == DType.Float16 ? FloatType.F16 : dtype == DType.Float32 ? FloatType.F32 : throw new ArgumentOutOfRangeException(nameof(dtype));
        var rows = Compiler.Dim.Batch();
        var nodes = new List<LoweringNode>();
        int Add(string op, int[] inputs, FloatType t, params Compiler.Dim[] shape)
        {
            nodes.Add(new LoweringNode(nodes.Count, op, inputs.ToEquatableArray(), AttributeSet.Empty, shape.ToEquatableArray(), t));
            return nodes.Count - 1;
        }
        int x = Add(Ops.Input.Name, [], type, rows, Compiler.Dim.Static(k));
        int w = Add(Ops.Param.Name, [], type, Compiler.Dim.Static(n), Compiler.Dim.Static(k));
        var linearInputs = new List<int> { x, w };
        // fp16: the bias is the Linear's own input (the template adds it to the accumulator). int8: the Linear is the bare product, a
        // float32 value (exact int32 sums rounded once), dequantized by the per-channel scale before the bias is added.
        int biasParam = bias ? Add(Ops.Param.Name, [], type, Compiler.Dim.Static(n)) : -1;
        if (bias && !int8) linearInputs.Add(biasParam);
        int linear = Add(Ops.Linear.Name, [.. linearInputs], int8 ? FloatType.F32 : type, rows, Compiler.Dim.Static(n));
        var chain = new List<int>();
        int end = linear;
        if (int8)
        {
            int scale = Add(Ops.Param.Name, [], FloatType.F32, Compiler.Dim.Static(n));
            end = Add(Ops.Mul.Name, [end, scale], type, rows, Compiler.Dim.Static(n));
            chain.Add(end);
            if (bias)
            {
                end = Add(Ops.Add.Name, [end, biasParam], type, rows, Compiler.Dim.Static(n));
                chain.Add(end);
            }
        }
        void AddResidual()
        {
            int r = Add(Ops.Input.Name, [], type, rows, Compiler.Dim.Static(n));
            end = Add(Ops.Add.Name, [end, r], type, rows, Compiler.Dim.Static(n));
            chain.Add(end);
        }
        if (residualFirst) AddResidual();
        if (activation != Activation.None)
        {
            var op = activation switch { Activation.Relu => Ops.Relu, Activation.Gelu => Ops.Gelu, _ => Ops.GeluTanh };
            end = Add(op.Name, [end], type, rows, Compiler.Dim.Static(n));
            chain.Add(end);
        }
        if (residual && !residualFirst) AddResidual();
        string activationPart = activation == Activation.None ? "" : "_" + activation.ToString().ToLowerInvariant(), add = residual ? "_add" : "";
        string name = (int8 ? "gemm_s8" : "gemm") + (bias ? "_bias" : "") + (residualFirst ? add + activationPart : activationPart + add) + $"_n{n}_k{k}" + (dtype == DType.Float16 ? "" : "_f32");
        var lowered = GemmEpilogue.Lower(name + "_epilogue", i => nodes[i], nodes.Count, nodes[linear], chain);
        var inputs = GemmEpilogue.Inputs(lowered, nodes.Count);
        var source = GemmSource.Specialize(name, n, k, lowered.Kernel, Kernels.KernelTemplates.Get(GemmSource.Pattern), int8);
        var epilogue = GeneratedKernel.From(lowered.Kernel);
        if (int8) return new GemmKernel(name, n, k, GemmRows.Stride(k, int8: true), source, epilogue, cublas: null, int8: true);
        var (act, b, res, first, toIo) = GemmEpilogue.CublasForm(i => nodes[i], nodes[linear], chain, inputs);
        return new GemmKernel(name, n, k, GemmRows.Stride(k), source, epilogue, act < 0 ? null : new CublasEpilogue((Activation)act, b, res) { ResidualFirst = first, ToIo = toIo });
    }
}
