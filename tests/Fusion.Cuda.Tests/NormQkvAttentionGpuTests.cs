using Fusion.Cuda.Fused;
using Fusion.Testing;

namespace Fusion.Cuda.Tests;

/// <summary>
/// The window attention with the norm prologue in front of its QKV prologue (window_attention.cut with FUSION_WA_NORM, through
/// <see cref="QkvWindowAttention"/>): it gathers each window from an image [B, H, W, C] rolled by a shift, normalizes it and computes
/// q, k, v itself. Reference: the LayerNorm in double precision on the image, rounded to fp16 as the norm kernel stores it, rolled and
/// cut into windows here, then the projection's GEMM and the attention on the CPU backend (<see cref="QkvCase"/>). Fresh random images
/// whose rows have a mean far from zero (the norm must subtract it), the case's random weights, biases and masks; Swin-T's stage shapes, an image that
/// is not square, both roll directions, 36 and 49 tokens. Tolerance per output element: 3e-3 + 1e-2·|reference|, as the QKV
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
        var image = Fusion.Testing.TestData.Uniform(seed, -1, 5, batch, height, width, channels).RoundedTo(DType.Float16);
        var gamma = Fusion.Testing.TestData.Uniform(seed + 5, 0.5, 1.5, channels).RoundedTo(DType.Float16);
        var beta = Fusion.Testing.TestData.Uniform(seed + 6, -0.5, 0.5, channels).RoundedTo(DType.Float16);
        var geometry = new WindowNorm(1e-5f, height, width, window, shift);
        using var x = NormalizedWindows(image, gamma, beta, geometry).ToCpu(DType.Float16);
        using var reference = c.Reference(x);

        using var hostImage = image.ToCpu(DType.Float16);
        using var hostGamma = gamma.ToCpu(DType.Float16);
        using var hostBeta = beta.ToCpu(DType.Float16);
        using var gImage = CudaTensor.FromHost(Device, hostImage);
        using var gGamma = CudaTensor.FromHost(Device, hostGamma);
        using var gBeta = CudaTensor.FromHost(Device, hostBeta);
        Assert.Null(QkvWindowAttention.WhyNot(c.Projection, c.Attention, Device, DType.Float16, gImage, c.W, [c.B], c.Table, c.GpuMask, heads));
        Assert.Null(QkvWindowAttention.WhyNotNorm(geometry, c.Attention, gImage, gGamma, gBeta, channels));
        using var fused = new QkvWindowAttention(Jit);
        using var output = CudaTensor.Empty(gImage.Stream, DType.Float16, new Shape(windows, tokens, heads * d));
        fused.Run(gImage, c.W, c.B, c.Table, c.GpuMask, c.Scale, output, c.Attention, gImage.Stream, new QkvWindowAttention.NormOperands(gGamma, gBeta, geometry));
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

    /// <summary>
    /// The norm kernel's result in double precision: each pixel's LayerNorm over C (biased variance) rounded to fp16, then window
    /// (b, wy, wx)'s token (ty, tx) read from pixel ((wy·w + ty − shift) mod H, (wx·w + tx − shift) mod W): roll, then partition.
    /// </summary>
    internal static RefTensor NormalizedWindows(RefTensor image, RefTensor gamma, RefTensor beta, WindowNorm g)
    {
        int batch = image.Shape[0], c = image.Shape[3], w = g.Window, across = g.Width / w, perImage = g.WindowsPerImage;
        var normalized = new RefTensor(image.Shape);
        for (int pixel = 0; pixel < batch * g.Height * g.Width; pixel++)
        {
            var row = image.Data.AsSpan(pixel * c, c);
            double mean = 0, variance = 0;
            foreach (double v in row) mean += v;
            mean /= c;
            foreach (double v in row) variance += (v - mean) * (v - mean);
            double inv = 1 / Math.Sqrt(variance / c + g.Eps);
            for (int k = 0; k < c; k++) normalized.Data[pixel * c + k] = (row[k] - mean) * inv * gamma.Data[k] + beta.Data[k];
        }
        normalized = normalized.RoundedTo(DType.Float16);
        var windows = new RefTensor([batch * perImage, w * w, c]);
        for (int win = 0; win < batch * perImage; win++)
            for (int t = 0; t < w * w; t++)
            {
                int b = win / perImage, inImage = win % perImage;
                int i = Modulo(inImage / across * w + t / w - g.Shift, g.Height), j = Modulo(inImage % across * w + t % w - g.Shift, g.Width);
                Array.Copy(normalized.Data, ((b * g.Height + i) * g.Width + j) * c, windows.Data, (win * w * w + t) * c, c);
            }
        return windows;
    }

    private static int Modulo(int value, int n) => ((value % n) + n) % n;
}
