using Fusion.Runtime.Tests.Compiler;
using Fusion.Compiler;
using Fusion.Testing;
using CDim = Fusion.Compiler.Dim;

namespace Fusion.Cuda.Tests;

/// <summary>
/// The GPU's int8 rounding (one cvt.rni.s32.f32 and an integer clamp, generated.cuh) gives the CPU's codes bit for bit on the values
/// where a rounding can go wrong: ties (to even), the ±127 bounds and just past them, huge values, ±∞ and NaN (code 0), −0. A cast to
/// int8 stored straight into an int8 buffer (printed without its own rounding: the store rounds) and the same cast read back as a float
/// (the rounding op itself), in widths whose stores move 8, 4 and 2 codes at once (packed by cvt.pack.sat from compute capability
/// 8.6) and in an odd one stored code by code.
/// </summary>
public sealed class Int8RoundingGpuTests(GemmKernelFolder folder) : GpuTestBase, IClassFixture<GemmKernelFolder>
{
    private static readonly double[] s_edges =
    [
        0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999997, -0.49999997, 126.5, -126.5, 127.49, -127.49, 127.5, -127.5, 128, -128,
        1e10, -1e10, 3e38, -3e38, double.PositiveInfinity, double.NegativeInfinity, double.NaN, -0.0, 0.0, 64.5, -64.5,
    ];

    /// <summary>x [N, width] f32 → cast(x · scale) to i8 (stored as codes) and cast(x · scale) · 0.5 (stored as f32).</summary>
    private static GeneratedKernel Quantize(int width)
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.F32, CDim.Batch(), CDim.Static(width));
        int scale = g.Param(FloatType.F32, CDim.Static(width));
        int scaled = g.Op(Ops.Mul, [x, scale]);
        int code = g.Op(Ops.Cast, [scaled], AttributeSet.Of(OpAttribute.Int("to", (long)FloatType.I8)), FloatType.I8);
        int half = g.Const(0.5);
        int dequantized = g.Op(Ops.Mul, [code, half], type: FloatType.F32);
        return g.Kernel($"quantize_edges_w{width}", [scaled, code, half, dequantized], dequantized, code);
    }

    [Theory]
    [InlineData(64, 1)]
    [InlineData(64, 3)]
    [InlineData(37, 1)]
    [InlineData(37, 3)]
    [InlineData(36, 3)] // four codes a store
    [InlineData(38, 3)] // two codes a store
    public void CodesMatchTheCpuOnEveryEdge(int width, int batch)
    {
        var kernel = Quantize(width);
        Assert.Contains("fusion_round_i8", kernel.CudaSource);
        var random = new Random(Rng.Next());
        var x = new double[batch * width];
        for (int i = 0; i < x.Length; i++)
            x[i] = i < s_edges.Length * 2 ? s_edges[i % s_edges.Length] * (i < s_edges.Length ? 1 : 0.999) : (random.NextDouble() - 0.5) * 400;
        var scale = Enumerable.Range(0, width).Select(i => i % 5 == 0 ? 1.0 : 0.25 + random.NextDouble()).ToArray();
        using var cuda = new CudaBackend(Device, new KernelCache(folder.Path));
        CpuTensor[] inputs = [new RefTensor([batch, width], x).ToCpu(DType.Float32), new RefTensor([width], scale).ToCpu(DType.Float32)];
        // Codes and their halves are exact on both sides: tolerance 0.
        KernelChecks.GpuMatchesCpu(cuda, kernel, batch, DType.Float32, inputs, $"int8 rounding edges, width {width}", _ => new Tol(0, 0));
        KernelChecks.DisposeAll(inputs);
    }
}
