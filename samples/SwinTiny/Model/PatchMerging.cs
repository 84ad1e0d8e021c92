using Fusion;

namespace SwinTiny.Model;

/// <summary>timm's PatchMerging: each 2×2 neighbourhood concatenated (4·dim channels), LayerNorm, then a bias-free linear to 2·dim.</summary>
public sealed class PatchMerging(int dim) : Module
{
    public readonly LayerNorm norm = new(4 * dim);
    public readonly Linear reduction = new(4 * dim, 2 * dim, bias: false);

    public Tensor Forward(Tensor x) => F.Linear(F.LayerNorm(F.PatchMerging(x), norm), reduction);
}
