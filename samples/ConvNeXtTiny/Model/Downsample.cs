using Fusion;

namespace ConvNeXtSample.Model;

/// <summary>
/// timm's ConvNeXtStage downsample, nn.Sequential(LayerNorm2d, Conv2d(kernel = stride)): keys downsample.0.* (the
/// channels-first norm) and downsample.1.* (the convolution, with bias). Halves the resolution at stride 2.
/// </summary>
public sealed class Downsample(int inDim, int dim, int stride) : Module
{
    [Key("0")] public readonly LayerNorm norm = new(inDim, eps: ConvNeXt.NormEps);
    [Key("1")] public readonly Conv2d conv = new(inDim, dim, kernel: stride, stride: stride);

    public Tensor Forward(Tensor x) => F.Conv2d(F.LayerNorm2d(x, norm), conv);
}
