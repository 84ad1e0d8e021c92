using Fusion.Kernels.Cpu;
using Fusion.Testing;

namespace Fusion.Runtime.Tests;

/// <summary>
/// The CPU's implicit-GEMM convolution (<see cref="Gemm.MultiplyConvolution"/>): the windows gathered block by block inside the GEMM
/// give the bits of the stored im2col matrix multiplied by the same GEMM (the same products summed in the same order), and the
/// float64 convolution within the GEMM's tolerance; on odd sizes, strides, padding, dilation, channel counts that split a tap
/// across depth blocks, batch 1 and 3, both micro-kernels, one core or all.
/// </summary>
public class ConvolutionGemmTests
{
    /// <summary>As <see cref="MatrixTests"/>: K products of values in [−1, 1) summed in float32.</summary>
    private static double Atol(int k) => 1e-5 + 1e-7 * k;

    public static TheoryData<int, int, int, int, int, int, int, int> Cases => new()
    {
        // H, W, C, kernel, stride, padding, dilation, N
        { 7, 9, 5, 3, 1, 1, 1, 7 },      // odd everything, padded border
        { 11, 6, 13, 3, 2, 1, 1, 33 },   // stride 2
        { 5, 5, 8, 1, 1, 0, 1, 70 },     // 1 × 1
        { 9, 10, 3, 7, 2, 3, 1, 17 },    // a stem: 3 channels, 7 × 7
        { 8, 8, 16, 3, 1, 2, 2, 40 },    // dilation 2
        { 6, 13, 70, 2, 2, 0, 1, 19 },   // K = 280: the depth block ends inside the fourth tap
        { 15, 15, 64, 3, 1, 1, 1, 65 },  // K = 576: three depth blocks, ResNet's 3 × 3
        { 4, 4, 200, 3, 1, 1, 1, 9 },    // a tap longer than half a depth block
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void GatheredWindowsGiveTheBitsOfTheStoredMatrix(int h, int w, int c, int kernel, int stride, int padding, int dilation, int n)
    {
        var windows = new ConvolutionWindows(h, w, c, kernel, stride, padding, dilation);
        foreach (int batch in new[] { 1, 3 })
            foreach (bool wide in new[] { false, true })
            {
                int seed = TestData.NewSeed();
                var image = TestData.Random(seed, batch, h, w, c);
                var weight = TestData.Random(seed + 1, n, windows.Depth);
                var bias = TestData.Random(seed + 2, n);
                int m = batch * windows.OutHeight * windows.OutWidth;
                var residual = TestData.Random(seed + 3, m, n);
                var packed = Gemm.Pack(Floats(weight), n, windows.Depth, transposeB: true, wide);
                var epilogue = new GemmEpilogue(Floats(bias), TileActivation.Relu, Floats(residual));

                var implicitGemm = new float[m * n];
                Gemm.MultiplyConvolution(Floats(image), windows, batch, packed, implicitGemm, epilogue);
                var stored = new float[m * n];
                Gemm.Multiply(Im2col(Floats(image), windows, batch), packed, stored, m, epilogue);
                var oneCore = new float[m * n];
                int workers = Parallelism.Workers;
                try
                {
                    Parallelism.Workers = 1;
                    Gemm.MultiplyConvolution(Floats(image), windows, batch, packed, oneCore, epilogue);
                }
                finally
                {
                    Parallelism.Workers = workers;
                }

                string what = $"seed {seed}: {windows} batch {batch} N {n} wide={wide}";
                Assert.True(implicitGemm.AsSpan().SequenceEqual(stored), $"{what}: gathered windows differ from the stored im2col matrix");
                Assert.True(oneCore.AsSpan().SequenceEqual(implicitGemm), $"{what}: one core differs from {workers}");
                var expected = Reference(image, weight, bias, residual, windows, batch, n);
                for (int i = 0; i < expected.Length; i++)
                    Assert.True(Math.Abs(implicitGemm[i] - expected[i]) <= Atol(windows.Depth) + 1e-5 * Math.Abs(expected[i]),
                        $"{what}: element {i} is {implicitGemm[i]}, expected {expected[i]}");
            }
    }

    [Fact]
    public void AWeightOfAnotherDepthOrAWindowThatDoesNotFitIsRefused()
    {
        var windows = new ConvolutionWindows(5, 5, 4, 3, 1, 1, 1);
        var packed = Gemm.Pack(new float[6 * 35], 6, 35, transposeB: true);
        var e = Assert.Throws<ArgumentException>(() => Gemm.MultiplyConvolution(new float[100], windows, 1, packed, new float[150], default));
        Assert.Contains("depth 35", e.Message);
        Assert.Contains("36", e.Message);
        var tooLarge = new ConvolutionWindows(2, 2, 4, 5, 1, 0, 1);
        var f = Assert.Throws<ArgumentException>(() => Gemm.MultiplyConvolution(new float[16], tooLarge, 1, packed, new float[6], default));
        Assert.Contains("must fit the padded image", f.Message);
        var shortImage = Assert.Throws<ArgumentException>(() =>
            Gemm.MultiplyConvolution(new float[99], windows, 1, Gemm.Pack(new float[6 * 36], 6, 36, transposeB: true), new float[150], default));
        Assert.Contains("image", shortImage.Message);
    }

    private static float[] Floats(RefTensor tensor) => tensor.Data.Select(v => (float)v).ToArray();

    /// <summary>The im2col matrix [batch·OH·OW, k·k·C], written out element by element from the definition.</summary>
    private static float[] Im2col(float[] image, ConvolutionWindows g, int batch)
    {
        int m = batch * g.OutHeight * g.OutWidth;
        var columns = new float[m * g.Depth];
        for (int b = 0; b < batch; b++)
            for (int oy = 0; oy < g.OutHeight; oy++)
                for (int ox = 0; ox < g.OutWidth; ox++)
                    for (int ky = 0; ky < g.Kernel; ky++)
                        for (int kx = 0; kx < g.Kernel; kx++)
                            for (int ch = 0; ch < g.Channels; ch++)
                            {
                                int iy = oy * g.Stride - g.Padding + ky * g.Dilation, ix = ox * g.Stride - g.Padding + kx * g.Dilation;
                                int row = (b * g.OutHeight + oy) * g.OutWidth + ox, col = (ky * g.Kernel + kx) * g.Channels + ch;
                                bool inside = iy >= 0 && iy < g.Height && ix >= 0 && ix < g.Width;
                                columns[(long)row * g.Depth + col] = inside ? image[((b * g.Height + iy) * g.Width + ix) * g.Channels + ch] : 0f;
                            }
        return columns;
    }

    /// <summary>relu(conv(image, weight) + bias) + residual in float64, the convolution summed tap by tap.</summary>
    private static double[] Reference(RefTensor image, RefTensor weight, RefTensor bias, RefTensor residual, ConvolutionWindows g, int batch, int n)
    {
        var result = new double[batch * g.OutHeight * g.OutWidth * n];
        for (int b = 0; b < batch; b++)
            for (int oy = 0; oy < g.OutHeight; oy++)
                for (int ox = 0; ox < g.OutWidth; ox++)
                {
                    int row = (b * g.OutHeight + oy) * g.OutWidth + ox;
                    for (int o = 0; o < n; o++)
                    {
                        double sum = bias.Data[o];
                        for (int ky = 0; ky < g.Kernel; ky++)
                            for (int kx = 0; kx < g.Kernel; kx++)
                            {
                                int iy = oy * g.Stride - g.Padding + ky * g.Dilation, ix = ox * g.Stride - g.Padding + kx * g.Dilation;
                                if (iy < 0 || iy >= g.Height || ix < 0 || ix >= g.Width) continue;
                                for (int ch = 0; ch < g.Channels; ch++)
                                    sum += image.Data[((b * g.Height + iy) * g.Width + ix) * g.Channels + ch]
                                        * weight.Data[(long)o * g.Depth + (ky * g.Kernel + kx) * g.Channels + ch];
                            }
                        result[row * n + o] = Math.Max(sum, 0) + residual.Data[row * n + o];
                    }
                }
        return result;
    }
}
