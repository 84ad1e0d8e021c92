using Fusion;

namespace ResNetSample.Model;

/// <summary>
/// torchvision's projection shortcut, nn.Sequential(conv1x1(stride), BatchNorm2d): keys downsample.0.* (the convolution,
/// no bias) and downsample.1.* (the norm). Used where a block changes the channel count or the resolution.
/// </summary>
public sealed class Downsample(int inChannels, int outChannels, int stride) : Module
{
    [Key("0")] public readonly Conv2d conv = new(inChannels, outChannels, kernel: 1, stride: stride, bias: false);
    [Key("1")] public readonly BatchNorm2d bn = new(outChannels);

    public Tensor Forward(Tensor x) => F.BatchNorm2d(F.Conv2d(x, conv), bn);
}
