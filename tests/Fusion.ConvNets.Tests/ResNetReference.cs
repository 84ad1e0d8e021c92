using Fusion.Testing;

namespace Fusion.ConvNets.Tests;

/// <summary>
/// An independent float64 ResNet with Bottleneck blocks, written from torchvision's ResNet (v1.5) with the float64
/// reference operators. The structure comes from the state-dict keys alone: the blocks of stage N are layerN.0, layerN.1, …
/// as far as they exist, a block projects its shortcut where it has downsample.* keys, and the first block of stages 2–4
/// strides by 2.
/// </summary>
internal static class ResNetReference
{
    /// <summary>torch.nn.BatchNorm2d's default epsilon, which torchvision's ResNet keeps.</summary>
    private const double BnEps = 1e-5;

    /// <summary>Logits [B, classes] of images [B, 3, S, S].</summary>
    public static RefTensor Forward(RefTensor image, ReferenceWeights w)
    {
        var x = ConvRef.Conv2d(image, w["conv1.weight"], null, stride: 2, padding: 3);
        x = Ref.Relu(BatchNorm(x, w, "bn1"));
        x = ConvRef.MaxPool2d(x, kernel: 3, stride: 2, padding: 1);
        for (int stage = 1; stage <= 4; stage++)
        {
            for (int i = 0; w.Has($"layer{stage}.{i}.conv1.weight"); i++)
                x = Bottleneck(x, w, $"layer{stage}.{i}.", stride: stage > 1 && i == 0 ? 2 : 1);
        }
        return Ref.Linear(ConvRef.GlobalAveragePool(x), w["fc.weight"], w["fc.bias"]);
    }

    /// <summary>relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + shortcut(x)); the stride on the 3×3 convolution.</summary>
    private static RefTensor Bottleneck(RefTensor x, ReferenceWeights w, string prefix, int stride)
    {
        var h = Ref.Relu(BatchNorm(ConvRef.Conv2d(x, w[prefix + "conv1.weight"], null, stride: 1, padding: 0), w, prefix + "bn1"));
        h = Ref.Relu(BatchNorm(ConvRef.Conv2d(h, w[prefix + "conv2.weight"], null, stride, padding: 1), w, prefix + "bn2"));
        h = BatchNorm(ConvRef.Conv2d(h, w[prefix + "conv3.weight"], null, stride: 1, padding: 0), w, prefix + "bn3");
        var shortcut = w.Has(prefix + "downsample.0.weight")
            ? BatchNorm(ConvRef.Conv2d(x, w[prefix + "downsample.0.weight"], null, stride, padding: 0), w, prefix + "downsample.1")
            : x;
        return Ref.Relu(Ref.Add(h, shortcut));
    }

    private static RefTensor BatchNorm(RefTensor x, ReferenceWeights w, string name) =>
        ConvRef.BatchNorm2d(x, w[name + ".weight"], w[name + ".bias"], w[name + ".running_mean"], w[name + ".running_var"], BnEps);
}
