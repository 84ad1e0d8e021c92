using Fusion.Cuda.Fused;
using Fusion.Testing;

namespace Fusion.Cuda.Tests;

/// <summary>
/// The norm prologue's operands for the tests of the window attention that normalizes its own windows (<see cref="NormQkvAttentionGpuTests"/>,
/// <see cref="AttentionOutputGpuTests"/>): a fresh random fp16 image [batch, H, W, C] whose rows have a mean far from zero (the norm
/// must subtract it), the LayerNorm's weight in [0.5, 1.5) and bias in [−0.5, 0.5), their GPU copies, and the windows the norm kernel
/// would make of them (<see cref="Windows"/>, the reference's input).
/// </summary>
internal sealed class NormCase : IDisposable
{
    public NormCase(CudaDevice device, int seed, int batch, int channels, WindowNorm geometry)
    {
        Geometry = geometry;
        var image = Fusion.Testing.TestData.Uniform(seed, -1, 5, batch, geometry.Height, geometry.Width, channels).RoundedTo(DType.Float16);
        var gamma = Fusion.Testing.TestData.Uniform(seed + 5, 0.5, 1.5, channels).RoundedTo(DType.Float16);
        var beta = Fusion.Testing.TestData.Uniform(seed + 6, -0.5, 0.5, channels).RoundedTo(DType.Float16);
        Windows = NormalizedWindows(image, gamma, beta, geometry).ToCpu(DType.Float16);
        using var hostImage = image.ToCpu(DType.Float16);
        using var hostGamma = gamma.ToCpu(DType.Float16);
        using var hostBeta = beta.ToCpu(DType.Float16);
        Image = CudaTensor.FromHost(device, hostImage);
        Operands = new QkvWindowAttention.NormOperands(CudaTensor.FromHost(device, hostGamma), CudaTensor.FromHost(device, hostBeta), geometry);
    }

    public WindowNorm Geometry { get; }

    /// <summary>The image on the GPU.</summary>
    public CudaTensor Image { get; }

    /// <summary>The norm's weight and bias on the GPU, and the geometry: the prologue's operands.</summary>
    public QkvWindowAttention.NormOperands Operands { get; }

    /// <summary>The normalized, rolled and partitioned windows [windows, tokens, C], fp16.</summary>
    public CpuTensor Windows { get; }

    /// <summary>
    /// The norm kernel's result in double precision: each pixel's LayerNorm over C (biased variance) rounded to fp16, then window
    /// (b, wy, wx)'s token (ty, tx) read from pixel ((wy·w + ty − shift) mod H, (wx·w + tx − shift) mod W): roll, then partition.
    /// </summary>
    private static RefTensor NormalizedWindows(RefTensor image, RefTensor gamma, RefTensor beta, WindowNorm g)
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

    public void Dispose()
    {
        foreach (var t in new Tensor[] { Windows, Image, Operands.Gamma, Operands.Beta }) t.Dispose();
    }
}
