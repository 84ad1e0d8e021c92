using Fusion;

namespace ConvNeXtSample.Model;

/// <summary>
/// timm's ConvNeXt (v1, the default "patch" stem, channels-last MLP blocks, head norm after the pool), configurable: a
/// patch×patch stem, four stages of <paramref name="depths"/> blocks at widths <paramref name="dims"/> (stages 2–4 start
/// by halving the resolution), the pooled classifier head. Member names follow timm's state-dict keys: stem.0/1,
/// stages.N.downsample.0/1, stages.N.blocks.M.*, head.norm, head.fc. The image size is the wrapping model's input shape.
/// </summary>
public sealed class ConvNeXt(int[] depths, int[] dims, int classes, int patch = 4, int kernel = 7) : Module
{
    /// <summary>timm's LayerNorm and LayerNorm2d default epsilon, which ConvNeXt keeps (PyTorch's default is 1e-5).</summary>
    public const float NormEps = 1e-6f;

    public readonly Stem stem = new(3, dims[0], patch);
    public readonly ConvNeXtStage[] stages = Repeat(4, i => new ConvNeXtStage(
        inDim: dims[i == 0 ? 0 : i - 1], dim: dims[i], depth: depths[i], stride: i == 0 ? 1 : 2, kernel: kernel));
    public readonly NormHead head = new(dims[3], classes);

    public Tensor Forward(Tensor image)
    {
        var x = stem.Forward(image);
        foreach (var stage in stages) x = stage.Forward(x);
        return head.Forward(x);
    }
}
