using Fusion.Cuda.Fused;

namespace Fusion.Cuda.Tests;

/// <summary>
/// The window attention computing its own q, k and v (window_attention.cut with the QKV prologue, through <see cref="QkvWindowAttention"/>)
/// against the projection's GEMM and then the attention, both on the CPU backend (<see cref="QkvCase"/>). Fresh random x (the scale
/// of a LayerNorm's output) and the case's random weights, biases and masks; odd window counts, 36 and 49
/// tokens, head dims 32 and 64, Swin-T's channel counts. Tolerance per output element: 3e-3 + 1e-2·|reference| (a projected value
/// whose float32 sum lands on the other side of an fp16 rounding boundary moves by one ulp; the kernel rounds the probabilities to
/// fp16 for p·v, 2⁻¹¹ of an output's scale; exp2 on the GPU).
/// </summary>
public sealed class QkvWindowAttentionGpuTests : GpuTestBase
{
    [Theory]
    [InlineData(3, 32, 96, 49, 5, 0)]        // Swin-T stage 1, unmasked, 5 windows
    [InlineData(3, 32, 96, 49, 2 * 64, 64)]  // stage 1 shifted: two images of 64 windows
    [InlineData(6, 32, 192, 49, 3 * 16, 16)] // stage 2 shifted
    [InlineData(12, 32, 384, 49, 7, 0)]      // stage 3 (one block an SM)
    [InlineData(2, 64, 128, 36, 9, 0)]       // head dim 64, 6 × 6 windows
    [InlineData(4, 16, 64, 49, 3 * 4, 4)]    // head dim 16
    public void TheAttentionComputingItsQkvMatchesTheGemmThenTheAttention(int heads, int d, int channels, int tokens, int windows, int maskWindows)
    {
        int seed = Fusion.Testing.TestData.NewSeed();
        using var c = new QkvCase(Device, seed, heads, d, channels, tokens, maskWindows);
        using var x = Fusion.Testing.TestData.Uniform(seed, -2, 2, windows, tokens, channels).ToCpu(DType.Float16);
        using var reference = c.Reference(x);
        using var gx = CudaTensor.FromHost(Device, x);
        Assert.Null(QkvWindowAttention.WhyNot(c.Projection, c.Attention, Device, DType.Float16, gx, c.W, [c.B], c.Table, c.GpuMask, heads));
        using var fused = new QkvWindowAttention(Jit);
        using var output = CudaTensor.Empty(gx.Stream, DType.Float16, new Shape(windows, tokens, heads * d));
        fused.Run(gx, c.W, c.B, c.Table, c.GpuMask, c.Scale, output, c.Attention, gx.Stream);
        using var gpu = output.ToHost();
        KernelChecks.AssertClose(gpu, reference, new Tol(3e-3, 1e-2), $"the QKV attention, {heads} heads of {d}, C {channels}, {windows} windows (seed {seed})");
    }

    /// <summary>What the prologue form was not written for is refused by reason; the backend then runs the GEMM and the attention.</summary>
    [Fact]
    public void OtherProjectionsAndShapesAreRefusedWithAReason()
    {
        var attention = FusedKernelTests.Specialize("window_attention", ("HEADS", 3), ("HEAD_DIM", 32), ("TOKENS", 49), ("WINDOWS", 1), ("HAS_MASK", 0));
        var projection = GemmKernels.Linear(288, 96, bias: true, Activation.None, residual: false);
        var gelu = GemmKernels.Linear(288, 96, bias: true, Activation.Gelu, residual: false);
        var wide = GemmKernels.Linear(288, 768, bias: true, Activation.None, residual: false);
        using var x = CudaTensor.Empty(Device.DefaultStream, DType.Float16, new Shape(2, 49, 96));
        using var x32 = CudaTensor.Empty(Device.DefaultStream, DType.Float32, new Shape(2, 49, 96));
        using var w = CudaTensor.Empty(Device.DefaultStream, DType.Float16, new Shape(288, 96));
        using var b = CudaTensor.Empty(Device.DefaultStream, DType.Float16, new Shape(288));
        using var table = CudaTensor.Empty(Device.DefaultStream, DType.Float16, new Shape(3, 49, 49));
        Assert.Null(QkvWindowAttention.WhyNot(projection, attention, Device, DType.Float16, x, w, [b], table, null, 3));
        Assert.Contains("not a bias alone", QkvWindowAttention.WhyNot(gelu, attention, Device, DType.Float16, x, w, [b], table, null, 3));
        Assert.Contains("fp16", QkvWindowAttention.WhyNot(projection, attention, Device, DType.Float16, x32, w, [b], table, null, 3));
        Assert.Contains("mask", QkvWindowAttention.WhyNot(projection, attention, Device, DType.Float16, x, w, [b], table, table, 3));
        Assert.Contains("operand shapes", QkvWindowAttention.WhyNot(projection, attention, Device, DType.Float16, w, w, [b], table, null, 3));
        using var wideX = CudaTensor.Empty(Device.DefaultStream, DType.Float16, new Shape(1, 49, 768));
        using var wideW = CudaTensor.Empty(Device.DefaultStream, DType.Float16, new Shape(288, 768));
        // 96 rows of w and one window of x at 768 channels need 243 KB, more than any GPU's block has.
        Assert.Contains("shared memory", QkvWindowAttention.WhyNot(wide, attention, Device, DType.Float16, wideX, wideW, [b], table, null, 3));
    }
}
