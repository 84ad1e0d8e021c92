using Fusion;

namespace ResNetSample.Model;

/// <summary>
/// torchvision's ResNet with Bottleneck blocks, configurable: a 7×7 stride-2 stem convolution (no bias) → BN → ReLU →
/// 3×3 stride-2 max pool (padding 1), four stages of bottlenecks (<paramref name="blocks"/> each; bottleneck widths
/// <paramref name="widths"/>, outputs 4× that; the first block of stages 2–4 halves the resolution), global average pool,
/// classifier. Member names are torchvision's state-dict keys: conv1, bn1, layerN.M.*, fc. The image size is the wrapping
/// model's input shape: nothing here depends on it (the pool averages whatever is left).
/// </summary>
public sealed class ResNet(int[] blocks, int[] widths, int classes, int stemWidth = 64) : Module
{
    public readonly Conv2d conv1 = new(3, stemWidth, kernel: 7, stride: 2, padding: 3, bias: false);
    public readonly BatchNorm2d bn1 = new(stemWidth);
    public readonly Bottleneck[] layer1 = Repeat(blocks[0], i => new Bottleneck(
        i == 0 ? stemWidth : widths[0] * Bottleneck.Expansion, widths[0], stride: 1));
    public readonly Bottleneck[] layer2 = Repeat(blocks[1], i => new Bottleneck(
        i == 0 ? widths[0] * Bottleneck.Expansion : widths[1] * Bottleneck.Expansion, widths[1], stride: i == 0 ? 2 : 1));
    public readonly Bottleneck[] layer3 = Repeat(blocks[2], i => new Bottleneck(
        i == 0 ? widths[1] * Bottleneck.Expansion : widths[2] * Bottleneck.Expansion, widths[2], stride: i == 0 ? 2 : 1));
    public readonly Bottleneck[] layer4 = Repeat(blocks[3], i => new Bottleneck(
        i == 0 ? widths[2] * Bottleneck.Expansion : widths[3] * Bottleneck.Expansion, widths[3], stride: i == 0 ? 2 : 1));
    public readonly Linear fc = new(widths[3] * Bottleneck.Expansion, classes);

    public Tensor Forward(Tensor image)
    {
        var x = F.Relu(F.BatchNorm2d(F.Conv2d(image, conv1), bn1));
        x = F.MaxPool2d(x, 3, 2, 1); // kernel 3, stride 2, padding 1
        foreach (var block in layer1) x = block.Forward(x);
        foreach (var block in layer2) x = block.Forward(x);
        foreach (var block in layer3) x = block.Forward(x);
        foreach (var block in layer4) x = block.Forward(x);
        x = F.Flatten(F.AdaptiveAvgPool2d(x, 1), 1); // avgpool to [B, C, 1, 1], then torch.flatten(x, 1)
        return F.Linear(x, fc);
    }
}
