using Fusion.Compiler;
using Fusion.Kernels;
using Fusion.Runtime.Tests.Compiler;
using CDim = Fusion.Compiler.Dim;

namespace Fusion.Cuda.Tests;

/// <summary>A GEMM kernel built by hand and what each of its epilogue inputs is ("bias", "scale", "residual"), in order.</summary>
internal sealed record CustomGemm(GemmKernel Kernel, string[] EpilogueInputs);

/// <summary>
/// GEMM kernels with epilogues that <see cref="GemmKernels.Linear"/> does not build, lowered exactly the way it does (and the
/// generator's scheduler: <see cref="GemmEpilogue"/>, <see cref="GemmSource"/>): x [rows, K] fp16 with the rows as the batch, weight
/// [N, K] and bias [N] fp16 parameters, then a chain over [rows, N].
/// </summary>
internal static class CustomGemms
{
    private static readonly CDim Rows = CDim.Batch();

    /// <summary>
    /// out = (x·wᵀ + bias)·scale + residual, scale a [N] layer-scale parameter: a chain cuBLASLt has no epilogue for, so
    /// <see cref="GemmKernel.Cublas"/> is null and the cuBLASLt path runs the bare product, then the epilogue kernel.
    /// </summary>
    public static CustomGemm LayerScaleResidual(int n, int k) => Build($"gemm_bias_mul_add_n{n}_k{k}", n, k, (g, linear, chain) =>
    {
        int scale = g.Param(FloatType.F16, CDim.Static(n));
        int scaled = g.Op(Ops.Mul, [linear, scale]);
        int residual = g.Input(FloatType.F16, Rows, CDim.Static(n));
        int sum = g.Op(Ops.Add, [scaled, residual]);
        chain.Add(scaled);
        chain.Add(sum);
        return new Dictionary<int, string> { [scale] = "scale", [residual] = "residual" };
    });

    /// <summary>
    /// out = cast_io(x·wᵀ + bias + residual): the residual add of a model's last block, whose output has the run's input/output
    /// type (float32 or float16, chosen at launch), so the template is compiled once per io type (FUSION_IO_HALF). No cuBLASLt form.
    /// </summary>
    public static CustomGemm ResidualCastToIo(int n, int k) => Build($"gemm_bias_add_cast_n{n}_k{k}", n, k, (g, linear, chain) =>
    {
        int residual = g.Input(FloatType.F16, Rows, CDim.Static(n));
        int sum = g.Op(Ops.Add, [linear, residual]);
        int cast = g.Op(Ops.Cast, [sum], AttributeSet.Of(OpAttribute.Int("to", (long)FloatType.Io)), FloatType.Io);
        chain.Add(sum);
        chain.Add(cast);
        return new Dictionary<int, string> { [residual] = "residual" };
    });

    /// <summary>
    /// The int8 plan's fc1: x and w int8 (the template's int8 variant, exact int32 sums), out = int8(gelu(float(sum)·scale[j] +
    /// bias[j]) · multiplier), the multiplier a [1] parameter (1 / the next layer's input scale): the requantizing GEMM whose codes the
    /// next int8 Linear reads.
    /// </summary>
    public static CustomGemm RequantizingGelu(int n, int k)
    {
        string name = $"gemm_s8_requantize_gelu_n{n}_k{k}";
        var g = new LoweringGraph();
        int x = g.Input(FloatType.F16, Rows, CDim.Static(k));
        int w = g.Param(FloatType.F16, CDim.Static(n), CDim.Static(k));
        int linear = g.Op(Ops.Linear, [x, w], type: FloatType.F32);
        int scale = g.Param(FloatType.F32, CDim.Static(n));
        int bias = g.Param(FloatType.F32, CDim.Static(n));
        int multiplier = g.Param(FloatType.F32, CDim.Static(1));
        int dequantized = g.Op(Ops.Mul, [linear, scale], type: FloatType.F32);
        int biased = g.Op(Ops.Add, [dequantized, bias], type: FloatType.F32);
        int gelu = g.Op(Ops.Gelu, [biased], type: FloatType.F32);
        int scaled = g.Op(Ops.Mul, [gelu, multiplier], type: FloatType.F32);
        int codes = g.Op(Ops.Cast, [scaled], AttributeSet.Of(OpAttribute.Int("to", (long)FloatType.I8)), FloatType.I8);
        var chain = new List<int> { dequantized, biased, gelu, scaled, codes };
        var roles = new Dictionary<int, string> { [scale] = "scale", [bias] = "bias", [multiplier] = "multiplier" };
        var lowered = GemmEpilogue.Lower(name + "_epilogue", i => g[i], g.Count, g[linear], chain);
        var inputs = GemmEpilogue.Inputs(lowered, g.Count);
        var source = GemmSource.Specialize(name, n, k, lowered.Kernel, KernelTemplates.Get(GemmSource.Pattern), int8: true);
        var kernel = new GemmKernel(name, n, k, GemmRows.Stride(k, int8: true), source, GeneratedKernel.From(lowered.Kernel), cublas: null, int8: true);
        return new CustomGemm(kernel, inputs.Select(i => roles[i]).ToArray());
    }

    private static CustomGemm Build(string name, int n, int k, Func<LoweringGraph, int, List<int>, Dictionary<int, string>> extend)
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.F16, Rows, CDim.Static(k));
        int w = g.Param(FloatType.F16, CDim.Static(n), CDim.Static(k));
        int bias = g.Param(FloatType.F16, CDim.Static(n));
        int linear = g.Op(Ops.Linear, [x, w, bias]);
        var chain = new List<int>();
        var roles = extend(g, linear, chain);
        roles[bias] = "bias";
        var lowered = GemmEpilogue.Lower(name + "_epilogue", i => g[i], g.Count, g[linear], chain);
        var inputs = GemmEpilogue.Inputs(lowered, g.Count);
        var (activation, b, residual, _, toIo) = GemmEpilogue.CublasForm(i => g[i], g[linear], chain, inputs);
        var source = GemmSource.Specialize(name, n, k, lowered.Kernel, KernelTemplates.Get(GemmSource.Pattern));
        var kernel = new GemmKernel(name, n, k, GemmRows.Stride(k), source, GeneratedKernel.From(lowered.Kernel),
            activation < 0 ? null : new CublasEpilogue((Activation)activation, b, residual) { ToIo = toIo });
        return new CustomGemm(kernel, inputs.Select(i => roles[i]).ToArray());
    }
}
