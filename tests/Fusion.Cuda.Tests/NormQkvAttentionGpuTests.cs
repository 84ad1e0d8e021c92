using Fusion.Cuda.Fused;
using Fusion.Testing;

namespace Fusion.Cuda.Tests;

/// <summary>
/// The window attention with the norm prologue in front of its QKV prologue (window_attention.cut with FUSION_WA_NORM, through
/// <see cref="QkvWindowAttention"/>): it gathers each window from an image [B, H, W, C] rolled by a shift, normalizes it and computes
/// q, k, v itself. Reference: the LayerNorm in double precision on the image, rounded to fp16 as the norm kernel stores it, rolled and
/// cut into windows here, then the projection's GEMM and the attention on the CPU backend (<see cref="QkvCase"/>). Fresh random images
/// whose rows have a mean far from zero (the norm must subtract it), the case's random weights, biases and masks (<see cref="NormCase"/>);
/// Swin-T's stage shapes, an image that is not square, both roll directions, 36 and 49 tokens. Tolerance per output element: 3e-3 + 1e-2·|reference|, as the QKV
/// prologue's tests (a normalized value whose fp32 sum lands on the other side of an fp16 rounding boundary moves by one ulp).
/// </summary>
public sealed class NormQkvAttentionGpuTests : GpuTestBase
{
    [Theory]
    [InlineData(3, 32, 96, 56, 56, 7, -3, 1, true)]    // Swin-T stage 1's shifted block
    [InlineData(6, 32, 192, 28, 28, 7, 0, 2, false)]   // stage 2's regular block, two images
    [InlineData(12, 32, 384, 14, 14, 7, -3, 3, true)]  // stage 3's shifted block, three images
    [InlineData(2, 64, 128, 12, 18, 6, 2, 1, true)]    // 6 × 6 windows of a 12 × 18 image, rolled the other way
    [InlineData(4, 16, 64, 21, 14, 7, -5, 2, false)]   // head dim 16, a shift past half a window
    public void TheAttentionNormalizingItsWindowsMatchesTheNormThenTheGemmThenTheAttention(int heads, int d, int channels, int height, int width,
        int window, int shift, int batch, bool masked)
    {
        int seed = Fusion.Testing.TestData.NewSeed(), tokens = window * window;
        int perImage = height / window * (width / window), windows = batch * perImage;
        using var c = new QkvCase(Device, seed, heads, d, channels, tokens, masked ? perImage : 0);
        using var norm = new NormCase(Device, seed, batch, channels, new WindowNorm(1e-5f, height, width, window, shift));
        using var reference = c.Reference(norm.Windows);

        Assert.Null(QkvWindowAttention.WhyNot(c.Projection, c.Attention, Device, DType.Float16, norm.Image, c.W, [c.B], c.Table, c.GpuMask, heads));
        Assert.Null(QkvWindowAttention.WhyNotNorm(norm.Geometry, c.Attention, norm.Image, norm.Operands.Gamma, norm.Operands.Beta, channels));
        using var fused = new QkvWindowAttention(Jit);
        using var output = CudaTensor.Empty(norm.Image.Stream, DType.Float16, new Shape(windows, tokens, heads * d));
        fused.Run(norm.Image, c.W, c.B, c.Table, c.GpuMask, c.Scale, output, c.Attention, norm.Image.Stream, norm.Operands);
        using var gpu = output.ToHost();
        KernelChecks.AssertClose(gpu, reference, new Tol(3e-3, 1e-2),
            $"the norm + QKV attention, {heads} heads of {d}, C {channels}, {height}×{width} in {window}×{window} windows rolled {shift}, batch {batch} (seed {seed})");
    }

    /// <summary>An image, weight or geometry the prologue was not written for is refused by reason; the backend then runs the norm kernel first.</summary>
    [Fact]
    public void OtherImagesAndNormsAreRefusedWithAReason()
    {
        var attention = FusedKernelTests.Specialize("window_attention", ("HEADS", 3), ("HEAD_DIM", 32), ("TOKENS", 49), ("WINDOWS", 4), ("HAS_MASK", 1));
        var stream = Device.DefaultStream;
        using var image = CudaTensor.Empty(stream, DType.Float16, new Shape(2, 14, 14, 96));
        using var gamma = CudaTensor.Empty(stream, DType.Float16, new Shape(96));
        using var gamma32 = CudaTensor.Empty(stream, DType.Float32, new Shape(96));
        using var shortGamma = CudaTensor.Empty(stream, DType.Float16, new Shape(48));
        var geometry = new WindowNorm(1e-5f, 14, 14, 7, -3);
        Assert.Null(QkvWindowAttention.WhyNotNorm(geometry, attention, image, gamma, gamma, 96));
        Assert.Contains("not an image [B, 28, 14, C]", QkvWindowAttention.WhyNotNorm(geometry with { Height = 28 }, attention, image, gamma, gamma, 96));
        Assert.Contains("not the attention's 49 tokens", QkvWindowAttention.WhyNotNorm(geometry with { Window = 2 }, attention, image, gamma, gamma, 96));
        Assert.Contains("does not cut into 5×5 windows", QkvWindowAttention.WhyNotNorm(geometry with { Window = 5 }, attention, image, gamma, gamma, 96));
        Assert.Contains("not fp16", QkvWindowAttention.WhyNotNorm(geometry, attention, image, gamma32, gamma, 96));
        Assert.Contains("for 96 channels", QkvWindowAttention.WhyNotNorm(geometry, attention, image, shortGamma, gamma, 96));
        Assert.Contains("projection's 192 channels", QkvWindowAttention.WhyNotNorm(geometry, attention, image, gamma, gamma, 192));
        using var wide = CudaTensor.Empty(stream, DType.Float16, new Shape(1, 28, 28, 96));
        Assert.Contains("mask has 4 windows, the image 16", QkvWindowAttention.WhyNotNorm(geometry with { Height = 28, Width = 28 }, attention, wide, gamma, gamma, 96));
    }
}
