using Fusion;

namespace ConvNeXtSample.Model;

/// <summary>
/// timm's NormMlpClassifierHead as ConvNeXt uses it (no hidden layer): global average pool → LayerNorm → Linear. timm
/// pools to [B, C, 1, 1] and applies a channels-first norm there; over a 1×1 map that is the plain LayerNorm of the
/// pooled [B, C] features, which is what this computes. Keys head.norm.*, head.fc.*.
/// </summary>
public sealed class NormHead(int dim, int classes) : Module
{
    public readonly LayerNorm norm = new(dim, eps: ConvNeXt.NormEps);
    public readonly Linear fc = new(dim, classes);

    public Tensor Forward(Tensor x) => F.Linear(F.LayerNorm(F.Mean(x, 2, 3), norm), fc);
}
