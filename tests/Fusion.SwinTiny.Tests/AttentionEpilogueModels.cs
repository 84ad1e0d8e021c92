using Fusion;

namespace Fusion.SwinTiny.Tests;

/// <summary>
/// Window attention over 3×3 windows followed by a layer scale and the residual, x + (softmax(q·kᵀ/√d + bias)·v)·γ (timm's window
/// attention without the output projection, the input already in windows): the scheduler prints the scale and the residual into
/// the attention template's epilogue. 2 heads of 16: the template's tensor-core body.
/// </summary>
[FusedModel]
public sealed partial class ScaledAttentionMma : Module
{
    public readonly Linear qkv = new(32, 96);
    public readonly Parameter relative_position_bias_table = new(25, 2);
    public readonly Parameter gamma = new(32);

    public Tensor Forward([Shape(Dim.Batch, 9, 32)] Tensor x)
    {
        var split = F.Permute(F.Reshape(F.Linear(x, qkv), -1, 9, 3, 2, 16), 2, 0, 3, 1, 4);
        var q = F.Mul(F.Select(split, 0, 0), 0.25f);
        var attn = F.MatMul(q, F.Select(split, 0, 1), transposeB: true);
        attn = F.Softmax(F.Add(attn, F.RelativePositionBias(relative_position_bias_table, 3)));
        var o = F.Reshape(F.Permute(F.MatMul(attn, F.Select(split, 0, 2)), 0, 2, 1, 3), -1, 9, 32);
        return F.Add(x, F.Mul(o, gamma));
    }
}

/// <summary>The same with 3 heads of 10 (not a multiple of 16: the template's float32 CUDA-core body).</summary>
[FusedModel]
public sealed partial class ScaledAttentionScalar : Module
{
    public readonly Linear qkv = new(30, 90);
    public readonly Parameter relative_position_bias_table = new(25, 3);
    public readonly Parameter gamma = new(30);

    public Tensor Forward([Shape(Dim.Batch, 9, 30)] Tensor x)
    {
        var split = F.Permute(F.Reshape(F.Linear(x, qkv), -1, 9, 3, 3, 10), 2, 0, 3, 1, 4);
        var q = F.Mul(F.Select(split, 0, 0), 0.31622776f);
        var attn = F.MatMul(q, F.Select(split, 0, 1), transposeB: true);
        attn = F.Softmax(F.Add(attn, F.RelativePositionBias(relative_position_bias_table, 3)));
        var o = F.Reshape(F.Permute(F.MatMul(attn, F.Select(split, 0, 2)), 0, 2, 1, 3), -1, 9, 30);
        return F.Add(x, F.Mul(o, gamma));
    }
}
