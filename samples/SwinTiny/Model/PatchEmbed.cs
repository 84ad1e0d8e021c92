using Fusion;

namespace SwinTiny.Model;

/// <summary>timm's PatchEmbed for Swin: a patch×patch convolution of stride patch (a GEMM over patches), then LayerNorm; NCHW image in, NHWC tokens out.</summary>
public sealed class PatchEmbed(int inChannels, int embedDim, int patch) : Module
{
    public readonly PatchConv proj = new(inChannels, embedDim, patch);
    public readonly LayerNorm norm = new(embedDim);

    public Tensor Forward(Tensor image) => F.LayerNorm(F.PatchConv(image, proj), norm);
}
