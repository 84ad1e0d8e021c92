using Fusion.Compiler;

namespace Fusion;

/// <summary>
/// Builds the <see cref="GemmKernel"/> a compiled model gets for a Linear layer followed by an activation and a residual add (the
/// chain of a transformer MLP), through the same lowering and template as the generator: for tests and benchmarks that run a GEMM
/// without a model. Rows are the batch: run it with batch = the number of rows.
/// </summary>
public static class GemmKernels
{
    public static GemmKernel Linear(int n, int k, bool bias, Activation activation, bool residual, DType dtype = DType.Float16)
    {
        if (n <= 0 || k <= 0) throw new ArgumentOutOfRangeException(nameof(n), $"N = {n} and K = {k} must be positive");
        var type = dtype == DType.Float16 ? FloatType.F16 : dtype == DType.Float32 ? FloatType.F32 : throw new ArgumentOutOfRangeException(nameof(dtype));
        var rows = Compiler.Dim.Batch();
        var nodes = new List<LoweringNode>();
        int Add(string op, int[] inputs, params Compiler.Dim[] shape)
        {
            nodes.Add(new LoweringNode(nodes.Count, op, inputs.ToEquatableArray(), AttributeSet.Empty, shape.ToEquatableArray(), type));
            return nodes.Count - 1;
        }
        int x = Add(Ops.Input.Name, [], rows, Compiler.Dim.Static(k));
        int w = Add(Ops.Param.Name, [], Compiler.Dim.Static(n), Compiler.Dim.Static(k));
        var linearInputs = new List<int> { x, w };
        if (bias) linearInputs.Add(Add(Ops.Param.Name, [], Compiler.Dim.Static(n)));
        int linear = Add(Ops.Linear.Name, [.. linearInputs], rows, Compiler.Dim.Static(n));
        var chain = new List<int>();
        int end = linear;
        if (activation != Activation.None)
        {
            var op = activation switch { Activation.Relu => Ops.Relu, Activation.Gelu => Ops.Gelu, _ => Ops.GeluTanh };
            end = Add(op.Name, [end], rows, Compiler.Dim.Static(n));
            chain.Add(end);
        }
        if (residual)
        {
            int r = Add(Ops.Input.Name, [], rows, Compiler.Dim.Static(n));
            end = Add(Ops.Add.Name, [end, r], rows, Compiler.Dim.Static(n));
            chain.Add(end);
        }
        string name = "gemm" + (bias ? "_bias" : "") + (activation == Activation.None ? "" : "_" + activation.ToString().ToLowerInvariant())
            + (residual ? "_add" : "") + $"_n{n}_k{k}" + (dtype == DType.Float16 ? "" : "_f32");
        var lowered = GemmEpilogue.Lower(name + "_epilogue", i => nodes[i], nodes.Count, nodes[linear], chain);
        var inputs = GemmEpilogue.Inputs(lowered, nodes.Count);
        var (act, b, res) = GemmEpilogue.CublasForm(i => nodes[i], nodes[linear], chain, inputs);
        var source = GemmSource.Specialize(name, n, k, lowered.Kernel, Kernels.KernelTemplates.Get(GemmSource.Pattern));
        return new GemmKernel(name, n, k, GemmRows.Stride(k), source, GeneratedKernel.From(lowered.Kernel),
            act < 0 ? null : new CublasEpilogue((Activation)act, b, res));
    }
}
