using Fusion.Testing;

namespace Fusion.ConvNets.Tests;

/// <summary>
/// An independent float64 ConvNeXt, written from timm's ConvNeXt (patch stem, channels-last MLP blocks, pool → norm → fc
/// head) with the float64 reference operators. The structure comes from the state-dict keys: the stem's kernel and stride
/// from stem.0.weight, a stage downsamples where it has downsample.* keys (kernel = stride), its blocks are blocks.0, 1, …
/// as far as they exist, and each depthwise convolution pads by half its kernel.
/// </summary>
internal static class ConvNeXtReference
{
    /// <summary>timm's LayerNorm and LayerNorm2d epsilon.</summary>
    private const double NormEps = 1e-6;

    /// <summary>Logits [B, classes] of images [B, 3, S, S].</summary>
    public static RefTensor Forward(RefTensor image, ReferenceWeights w)
    {
        var stem = w["stem.0.weight"];
        var x = ConvRef.Conv2d(image, stem, w["stem.0.bias"], stride: stem.Shape[2], padding: 0);
        x = ConvRef.LayerNormChannels(x, w["stem.1.weight"], w["stem.1.bias"], NormEps);
        for (int stage = 0; stage < 4; stage++)
        {
            string prefix = $"stages.{stage}.";
            if (w.Has(prefix + "downsample.0.weight"))
            {
                x = ConvRef.LayerNormChannels(x, w[prefix + "downsample.0.weight"], w[prefix + "downsample.0.bias"], NormEps);
                var conv = w[prefix + "downsample.1.weight"];
                x = ConvRef.Conv2d(x, conv, w[prefix + "downsample.1.bias"], stride: conv.Shape[2], padding: 0);
            }
            for (int i = 0; w.Has($"{prefix}blocks.{i}.gamma"); i++) x = Block(x, w, $"{prefix}blocks.{i}.");
        }
        var pooled = ConvRef.GlobalAveragePool(x);
        pooled = Ref.LayerNorm(pooled, w["head.norm.weight"], w["head.norm.bias"], NormEps);
        return Ref.Linear(pooled, w["head.fc.weight"], w["head.fc.bias"]);
    }

    /// <summary>x + gamma·fc2(gelu(fc1(norm(dwconv(x))))) with the norm and the MLP on each pixel's channels.</summary>
    private static RefTensor Block(RefTensor x, ReferenceWeights w, string prefix)
    {
        var depthwise = w[prefix + "conv_dw.weight"];
        var h = ConvRef.Conv2d(x, depthwise, w[prefix + "conv_dw.bias"], stride: 1, padding: depthwise.Shape[2] / 2, groups: x.Shape[1]);
        h = Ref.Permute(h, 0, 2, 3, 1);
        h = Ref.LayerNorm(h, w[prefix + "norm.weight"], w[prefix + "norm.bias"], NormEps);
        h = Ref.Gelu(Ref.Linear(h, w[prefix + "mlp.fc1.weight"], w[prefix + "mlp.fc1.bias"]));
        h = Ref.Linear(h, w[prefix + "mlp.fc2.weight"], w[prefix + "mlp.fc2.bias"]);
        h = ScaleChannels(h, w[prefix + "gamma"]);
        return Ref.Add(x, Ref.Permute(h, 0, 3, 1, 2));
    }

    /// <summary>Each element of a channels-last tensor times its channel's scale.</summary>
    private static RefTensor ScaleChannels(RefTensor x, RefTensor scale)
    {
        int channels = scale.Count;
        var y = RefTensor.Derived(x.Shape, x);
        for (int i = 0; i < x.Count; i++) y.Data[i] = x.Data[i] * scale.Data[i % channels];
        return y;
    }
}
