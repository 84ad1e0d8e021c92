using Fusion;

namespace ConvNeXtSample.Model;

/// <summary>
/// timm's ConvNeXtBlock in its default (channels-last MLP) form: depthwise kernel×kernel convolution (padding kernel/2,
/// with bias) → permute to NHWC → LayerNorm → Linear 4·dim → GELU → Linear dim → ·gamma (layer scale) → permute back →
/// + the input. NCHW [B, dim, H, W] in and out.
/// </summary>
public sealed class ConvNeXtBlock(int dim, int kernel = 7, int mlpRatio = 4) : Module
{
    public readonly Conv2d conv_dw = new(dim, dim, kernel, padding: kernel / 2, groups: dim);
    public readonly LayerNorm norm = new(dim, eps: ConvNeXt.NormEps);
    public readonly Mlp mlp = new(dim, mlpRatio * dim);
    public readonly Parameter gamma = new(dim);

    public Tensor Forward(Tensor x)
    {
        var h = F.Conv2d(x, conv_dw);
        h = F.Permute(h, 0, 2, 3, 1); // NCHW → NHWC: the norm and the MLP work on each pixel's channels
        h = mlp.Forward(F.LayerNorm(h, norm));
        // timm scales after permuting back (gamma as [1, C, 1, 1]); the same product here on the last axis, where the
        // scheduler can fold it into fc2's GEMM epilogue.
        h = F.Mul(h, gamma);
        return F.Add(x, F.Permute(h, 0, 3, 1, 2));
    }
}
