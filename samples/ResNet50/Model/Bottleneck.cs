using Fusion;

namespace ResNetSample.Model;

/// <summary>
/// torchvision's Bottleneck (ResNet v1.5: the stride is on the 3×3 convolution, not the first 1×1): 1×1 conv to
/// <c>width</c> → BN → ReLU → 3×3 conv (stride) → BN → ReLU → 1×1 conv to 4·width → BN, plus the shortcut (the input, or
/// its projection where the shape changes), then ReLU. Convolutions have no bias, as in torchvision. NCHW in and out.
/// </summary>
public sealed class Bottleneck(int inChannels, int width, int stride) : Module
{
    /// <summary>Output channels per bottleneck width (torchvision's Bottleneck.expansion).</summary>
    public const int Expansion = 4;

    public readonly Conv2d conv1 = new(inChannels, width, kernel: 1, bias: false);
    public readonly BatchNorm2d bn1 = new(width);
    public readonly Conv2d conv2 = new(width, width, kernel: 3, stride: stride, padding: 1, bias: false);
    public readonly BatchNorm2d bn2 = new(width);
    public readonly Conv2d conv3 = new(width, width * Expansion, kernel: 1, bias: false);
    public readonly BatchNorm2d bn3 = new(width * Expansion);
    public readonly Downsample? downsample = stride != 1 || inChannels != width * Expansion ? new Downsample(inChannels, width * Expansion, stride) : null;

    private readonly bool _project = stride != 1 || inChannels != width * Expansion;

    public Tensor Forward(Tensor x)
    {
        var h = F.Relu(F.BatchNorm2d(F.Conv2d(x, conv1), bn1));
        h = F.Relu(F.BatchNorm2d(F.Conv2d(h, conv2), bn2));
        h = F.BatchNorm2d(F.Conv2d(h, conv3), bn3);
        var shortcut = x;
        if (_project) shortcut = downsample!.Forward(x);
        return F.Relu(F.Add(h, shortcut));
    }
}
