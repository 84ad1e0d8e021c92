using Fusion.Testing;
using static Fusion.Runtime.Tests.Operators.OperatorCheck;

namespace Fusion.Runtime.Tests.Operators;

/// <summary>
/// The convolution family eagerly on the CPU (each through its descriptor's graph: im2col + GEMM, grouped windows + reduction,
/// pooling windows + reduction) against plain float64 loops written here from PyTorch's definitions, on odd shapes: channels
/// not a multiple of 8, odd H and W, stride 2 with padding, dilation 2, groups 1, 2, 3 and C. Weights are exact in float16, so
/// both dtypes compare with one reference; the sums are up to a few hundred terms, hence <see cref="OperatorCheck.Reduction"/>.
/// </summary>
public class ConvolutionTests
{
    public static TheoryData<int, int, int, int, int, int, int, bool> Convolutions => new()
    {
        // in, out, kernel, stride, padding, dilation, groups, bias
        { 5, 7, 3, 2, 1, 1, 1, true },   // the common downsampling conv, odd channels
        { 3, 6, 7, 2, 3, 1, 1, false },  // a ResNet stem on 3 channels, no bias
        { 6, 5, 3, 1, 2, 2, 1, true },   // dilation 2
        { 6, 9, 1, 1, 0, 1, 1, true },   // 1×1: a GEMM over the channels-last permute
        { 6, 4, 1, 2, 0, 1, 1, false },  // 1×1 stride 2 (ResNet's downsample path)
        { 6, 6, 7, 1, 3, 1, 6, true },   // depthwise 7×7 (ConvNeXt)
        { 4, 6, 3, 2, 1, 1, 2, true },   // two groups
        { 3, 6, 3, 1, 1, 1, 3, false },  // depthwise with a channel multiplier of 2
        { 5, 5, 4, 4, 0, 1, 1, true },   // kernel = stride (a patch embedding)
    };

    [Theory]
    [MemberData(nameof(Convolutions))]
    public void Conv2dMatchesTheDirectDefinition(int inC, int outC, int kernel, int stride, int padding, int dilation, int groups, bool bias)
    {
        int seed = TestData.NewSeed();
        var conv = new Conv2d(inC, outC, kernel, stride, padding, dilation, groups, bias);
        var weight = LoadHalfExact(conv.weight, seed, -0.5, 0.5);
        var b = conv.bias is null ? null : LoadHalfExact(conv.bias, seed + 1);
        foreach (var (dtype, batch) in new[] { (DType.Float32, 1), (DType.Float32, 3), (DType.Float16, 2) })
        {
            var x = TestData.Random(seed + 2 + batch, batch, inC, 11, 9);
            Check(dtype, $"Conv2d({inC}, {outC}, k{kernel} s{stride} p{padding} d{dilation} g{groups}) batch {batch}", t => F.Conv2d(t[0], conv),
                r => DirectConv(r[0], weight, b, stride, padding, dilation, groups), Reduction, x);
        }
    }

    [Theory]
    [MemberData(nameof(DTypes), MemberType = typeof(OperatorCheck))]
    public void BatchNormUsesTheRunningStatistics(DType dtype)
    {
        int seed = TestData.NewSeed();
        var bn = new BatchNorm2d(5, eps: 1e-3f);
        var gamma = LoadHalfExact(bn.weight, seed);
        var beta = LoadHalfExact(bn.bias, seed + 1);
        var mean = LoadHalfExact(bn.running_mean, seed + 2);
        var variance = LoadHalfExact(bn.running_var, seed + 3, 0.25, 2);
        var x = TestData.Random(seed + 4, 3, 5, 7, 3);
        Check(dtype, "BatchNorm2d", t => F.BatchNorm2d(t[0], bn), r =>
        {
            var y = RefTensor.Derived(r[0].Shape, r[0]);
            foreach (var i in RefTensor.Indices(r[0].Shape))
            {
                int c = i[1];
                y[i] = (r[0][i] - mean.Data[c]) / Math.Sqrt(variance.Data[c] + 1e-3f) * gamma.Data[c] + beta.Data[c];
            }
            return y;
        }, Map * 10, x);
    }

    [Theory]
    [MemberData(nameof(DTypesAndBatches), MemberType = typeof(OperatorCheck))]
    public void PoolingMatchesTheDirectDefinition(DType dtype, int batch)
    {
        var x = TestData.Random(TestData.NewSeed(), batch, 5, 13, 10);
        foreach (var (kernel, stride, padding) in new[] { (3, 2, 1), (2, 2, 0), (3, 1, 1), (5, 3, 2) })
        {
            string what = $"k{kernel} s{stride} p{padding}";
            Check(dtype, "MaxPool2d " + what, t => F.MaxPool2d(t[0], kernel, stride, padding), r => DirectPool(r[0], kernel, stride, padding, max: true), Map, x);
            Check(dtype, "AvgPool2d " + what, t => F.AvgPool2d(t[0], kernel, stride, padding), r => DirectPool(r[0], kernel, stride, padding, max: false), Reduction, x);
        }
        Check(dtype, "AdaptiveAvgPool2d 1", t => F.AdaptiveAvgPool2d(t[0], 1), r => DirectPool(r[0], 0, 0, 0, max: false), Reduction, x);
    }

    /// <summary>Max pooling of negative values near the border: the padding (−∞) must not win, as a 0 fill would.</summary>
    [Fact]
    public void MaxPoolPaddingNeverWins()
    {
        var x = TestData.Uniform(TestData.NewSeed(), -2, -1, 2, 3, 6, 7);
        Check(DType.Float32, "MaxPool2d of negatives", t => F.MaxPool2d(t[0], 3, 2, 1), r => DirectPool(r[0], 3, 2, 1, max: true), Map, x);
    }

    [Theory]
    [MemberData(nameof(DTypes), MemberType = typeof(OperatorCheck))]
    public void ChannelsFirstLayerNormNormalizesEachPixelOverC(DType dtype)
    {
        int seed = TestData.NewSeed();
        var norm = new LayerNorm(7, eps: 1e-6f);
        var gamma = LoadHalfExact(norm.weight, seed);
        var beta = LoadHalfExact(norm.bias, seed + 1);
        var x = TestData.Random(seed + 2, 2, 7, 5, 3);
        Check(dtype, "LayerNorm2d", t => F.LayerNorm2d(t[0], norm), r =>
        {
            var y = RefTensor.Derived(r[0].Shape, r[0]);
            for (int b = 0; b < 2; b++)
                for (int h = 0; h < 5; h++)
                    for (int w = 0; w < 3; w++)
                    {
                        var values = Enumerable.Range(0, 7).Select(c => r[0][b, c, h, w]).ToArray();
                        double mean = values.Average(), variance = values.Select(v => (v - mean) * (v - mean)).Average();
                        for (int c = 0; c < 7; c++) y[b, c, h, w] = (values[c] - mean) / Math.Sqrt(variance + 1e-6f) * gamma.Data[c] + beta.Data[c];
                    }
            return y;
        }, Reduction, x);
    }

    [Fact]
    public void BadCallsNameWhatIsWrong()
    {
        using var x = TestData.Random(TestData.NewSeed(), 1, 4, 5, 5).ToCpu();
        var wrongChannels = Assert.ThrowsAny<Exception>(() => F.Conv2d(x, new Conv2d(3, 8, 3)));
        Assert.Contains("4 channels, the layer takes 3", wrongChannels.Message);
        var tooLarge = Assert.ThrowsAny<Exception>(() => F.Conv2d(x, new Conv2d(4, 8, 7)));
        Assert.Contains("does not fit the 5×5 image", tooLarge.Message);
        var padding = Assert.ThrowsAny<Exception>(() => F.MaxPool2d(x, 3, 2, 2));
        Assert.Contains("padding between 0 and half the kernel", padding.Message);
        var adaptive = Assert.ThrowsAny<Exception>(() => F.AdaptiveAvgPool2d(x, 2));
        Assert.Contains("only output size 1", adaptive.Message);
        var groups = Assert.Throws<ArgumentException>(() => new Conv2d(6, 4, 3, groups: 4));
        Assert.Contains("groups must divide", groups.Message);
    }

    /// <summary>PyTorch's conv2d written as loops: out[b, o, y, x] = bias[o] + Σ w[o, c, i, j]·in[b, g·C/g + c, y·s − p + i·d, x·s − p + j·d].</summary>
    internal static RefTensor DirectConv(RefTensor x, RefTensor weight, RefTensor? bias, int stride, int padding, int dilation, int groups)
    {
        int batch = x.Shape[0], inC = x.Shape[1], height = x.Shape[2], width = x.Shape[3];
        int outC = weight.Shape[0], perGroup = weight.Shape[1], kernel = weight.Shape[2];
        int outH = (height + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1, outW = (width + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1;
        Assert.Equal(inC, perGroup * groups);
        var y = RefTensor.Derived(new[] { batch, outC, outH, outW }, x);
        for (int b = 0; b < batch; b++)
            for (int o = 0; o < outC; o++)
                for (int oy = 0; oy < outH; oy++)
                    for (int ox = 0; ox < outW; ox++)
                    {
                        double sum = bias?.Data[o] ?? 0;
                        int group = o / (outC / groups);
                        for (int c = 0; c < perGroup; c++)
                            for (int i = 0; i < kernel; i++)
                                for (int j = 0; j < kernel; j++)
                                {
                                    int iy = oy * stride - padding + i * dilation, ix = ox * stride - padding + j * dilation;
                                    if (iy < 0 || iy >= height || ix < 0 || ix >= width) continue;
                                    sum += weight[o, c, i, j] * x[b, group * perGroup + c, iy, ix];
                                }
                        y[b, o, oy, ox] = sum;
                    }
        return y;
    }

    /// <summary>Max or average (count_include_pad) pooling as loops; kernel 0 pools the whole image to 1×1.</summary>
    internal static RefTensor DirectPool(RefTensor x, int kernel, int stride, int padding, bool max)
    {
        int batch = x.Shape[0], channels = x.Shape[1], height = x.Shape[2], width = x.Shape[3];
        bool global = kernel == 0;
        int kh = global ? height : kernel, kw = global ? width : kernel, sh = global ? height : stride, sw = global ? width : stride;
        int outH = (height + 2 * padding - kh) / sh + 1, outW = (width + 2 * padding - kw) / sw + 1;
        var y = RefTensor.Derived(new[] { batch, channels, outH, outW }, x);
        for (int b = 0; b < batch; b++)
            for (int c = 0; c < channels; c++)
                for (int oy = 0; oy < outH; oy++)
                    for (int ox = 0; ox < outW; ox++)
                    {
                        double best = double.NegativeInfinity, sum = 0;
                        for (int i = 0; i < kh; i++)
                            for (int j = 0; j < kw; j++)
                            {
                                int iy = oy * sh - padding + i, ix = ox * sw - padding + j;
                                if (iy < 0 || iy >= height || ix < 0 || ix >= width) continue;
                                best = Math.Max(best, x[b, c, iy, ix]);
                                sum += x[b, c, iy, ix];
                            }
                        y[b, c, oy, ox] = max ? best : sum / (kh * kw);
                    }
        return y;
    }
}
