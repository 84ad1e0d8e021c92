using Fusion;

namespace ConvNeXtSample.Model;

/// <summary>
/// timm's ConvNeXt "patch" stem, nn.Sequential(Conv2d(kernel = stride = patch), LayerNorm2d): keys stem.0.* (the
/// convolution, with bias) and stem.1.* (the channels-first norm). NCHW image in, NCHW features at 1/patch resolution out.
/// </summary>
public sealed class Stem(int inChannels, int dim, int patch) : Module
{
    [Key("0")] public readonly Conv2d conv = new(inChannels, dim, kernel: patch, stride: patch);
    [Key("1")] public readonly LayerNorm norm = new(dim, eps: ConvNeXt.NormEps);

    public Tensor Forward(Tensor image) => F.LayerNorm2d(F.Conv2d(image, conv), norm);
}
