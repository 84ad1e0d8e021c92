using Fusion.Testing;

namespace Fusion.ConvNets.Tests;

/// <summary>
/// Float64 reference operators of convolutional networks on NCHW tensors, written straight from PyTorch's definitions
/// with plain loops (no im2col, no layout tricks), so they share nothing with the kernels under test.
/// </summary>
internal static class ConvRef
{
    /// <summary>
    /// torch.nn.functional.conv2d: x [B, C, H, W], w [O, C/groups, k, k], optional bias [O], zero padding on every side;
    /// output [B, O, (H + 2p − k)/s + 1, (W + 2p − k)/s + 1]. Output channel o reads input channels of group o/(O/groups).
    /// </summary>
    public static RefTensor Conv2d(RefTensor x, RefTensor w, RefTensor? bias, int stride, int padding, int groups = 1)
    {
        int batch = x.Shape[0], channels = x.Shape[1], height = x.Shape[2], width = x.Shape[3];
        int outChannels = w.Shape[0], groupChannels = w.Shape[1], kernel = w.Shape[2];
        if (groupChannels * groups != channels || outChannels % groups != 0 || w.Shape[3] != kernel)
            throw new ArgumentException($"ConvRef.Conv2d: weight {w} does not fit input {x} in {groups} groups");
        int outHeight = (height + 2 * padding - kernel) / stride + 1, outWidth = (width + 2 * padding - kernel) / stride + 1;
        int perGroup = outChannels / groups;
        var y = RefTensor.Derived([batch, outChannels, outHeight, outWidth], x, w);
        for (int n = 0; n < batch; n++)
        for (int o = 0; o < outChannels; o++)
        {
            int firstChannel = o / perGroup * groupChannels;
            for (int oy = 0; oy < outHeight; oy++)
            for (int ox = 0; ox < outWidth; ox++)
            {
                double sum = bias is null ? 0 : bias.Data[o];
                for (int c = 0; c < groupChannels; c++)
                for (int ky = 0; ky < kernel; ky++)
                {
                    int iy = oy * stride - padding + ky;
                    if (iy < 0 || iy >= height) continue;
                    for (int kx = 0; kx < kernel; kx++)
                    {
                        int ix = ox * stride - padding + kx;
                        if (ix < 0 || ix >= width) continue;
                        sum += x.Data[((n * channels + firstChannel + c) * height + iy) * width + ix]
                             * w.Data[((o * groupChannels + c) * kernel + ky) * kernel + kx];
                    }
                }
                y.Data[((n * outChannels + o) * outHeight + oy) * outWidth + ox] = sum;
            }
        }
        return y;
    }

    /// <summary>Inference-form batch norm per channel: (x − running_mean)/√(running_var + eps)·weight + bias.</summary>
    public static RefTensor BatchNorm2d(RefTensor x, RefTensor weight, RefTensor bias, RefTensor mean, RefTensor variance, double eps)
    {
        int channels = x.Shape[1], plane = x.Shape[2] * x.Shape[3];
        var y = RefTensor.Derived(x.Shape, x, weight);
        for (int i = 0; i < x.Count; i++)
        {
            int c = i / plane % channels;
            y.Data[i] = (x.Data[i] - mean.Data[c]) / Math.Sqrt(variance.Data[c] + eps) * weight.Data[c] + bias.Data[c];
        }
        return y;
    }

    /// <summary>torch.nn.functional.max_pool2d (floor mode): the maximum of each window, padded positions left out (PyTorch pads with −∞).</summary>
    public static RefTensor MaxPool2d(RefTensor x, int kernel, int stride, int padding)
    {
        int batch = x.Shape[0], channels = x.Shape[1], height = x.Shape[2], width = x.Shape[3];
        int outHeight = (height + 2 * padding - kernel) / stride + 1, outWidth = (width + 2 * padding - kernel) / stride + 1;
        var y = RefTensor.Derived([batch, channels, outHeight, outWidth], x);
        for (int plane = 0; plane < batch * channels; plane++)
        for (int oy = 0; oy < outHeight; oy++)
        for (int ox = 0; ox < outWidth; ox++)
        {
            double max = double.NegativeInfinity;
            for (int ky = 0; ky < kernel; ky++)
            for (int kx = 0; kx < kernel; kx++)
            {
                int iy = oy * stride - padding + ky, ix = ox * stride - padding + kx;
                if (iy >= 0 && iy < height && ix >= 0 && ix < width) max = Math.Max(max, x.Data[(plane * height + iy) * width + ix]);
            }
            y.Data[(plane * outHeight + oy) * outWidth + ox] = max;
        }
        return y;
    }

    /// <summary>The mean of each channel's H×W plane: [B, C, H, W] → [B, C] (adaptive_avg_pool2d to 1×1, flattened).</summary>
    public static RefTensor GlobalAveragePool(RefTensor x)
    {
        int planes = x.Shape[0] * x.Shape[1], size = x.Shape[2] * x.Shape[3];
        var y = RefTensor.Derived([x.Shape[0], x.Shape[1]], x);
        for (int p = 0; p < planes; p++)
        {
            double sum = 0;
            for (int i = 0; i < size; i++) sum += x.Data[p * size + i];
            y.Data[p] = sum / size;
        }
        return y;
    }

    /// <summary>
    /// Channels-first LayerNorm (timm's LayerNorm2d): at each pixel of [B, C, H, W], (x − mean)/√(var + eps)·w + b over the
    /// C values, biased variance.
    /// </summary>
    public static RefTensor LayerNormChannels(RefTensor x, RefTensor weight, RefTensor bias, double eps)
    {
        int batch = x.Shape[0], channels = x.Shape[1], plane = x.Shape[2] * x.Shape[3];
        var y = RefTensor.Derived(x.Shape, x, weight);
        for (int n = 0; n < batch; n++)
        for (int p = 0; p < plane; p++)
        {
            double mean = 0, variance = 0;
            for (int c = 0; c < channels; c++) mean += x.Data[(n * channels + c) * plane + p];
            mean /= channels;
            for (int c = 0; c < channels; c++)
            {
                double d = x.Data[(n * channels + c) * plane + p] - mean;
                variance += d * d;
            }
            variance /= channels;
            for (int c = 0; c < channels; c++)
            {
                int i = (n * channels + c) * plane + p;
                y.Data[i] = (x.Data[i] - mean) / Math.Sqrt(variance + eps) * weight.Data[c] + bias.Data[c];
            }
        }
        return y;
    }
}
