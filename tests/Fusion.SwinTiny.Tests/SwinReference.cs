using Fusion;
using Fusion.Testing;

namespace Fusion.SwinTiny.Tests;

/// <summary>
/// An independent float64 Swin Transformer block, written from timm's SwinTransformerBlock and
/// WindowAttention with the float64 reference operators; weights are read by state-dict key.
/// </summary>
internal static class SwinReference
{
    public static RefTensor Block(RefTensor x, Func<string, RefTensor> weight, string prefix, int dim, int heads, int resolution, int window, int shift)
    {
        int tokens = window * window, headDim = dim / heads;
        int windows = resolution / window * (resolution / window);

        // x + attn(norm1(x)) over (shifted) windows.
        var h = Ref.LayerNorm(x, weight(prefix + "norm1.weight"), weight(prefix + "norm1.bias"), 1e-5);
        if (shift > 0) h = Ref.Roll(h, -shift, 1, 2);
        h = Ref.WindowPartition(h, window);

        var qkv = Ref.Linear(h, weight(prefix + "attn.qkv.weight"), weight(prefix + "attn.qkv.bias"));
        qkv = Ref.Permute(Ref.Reshape(qkv, -1, tokens, 3, heads, headDim), 2, 0, 3, 1, 4);
        var q = Ref.Mul(Ref.Select(qkv, 0, 0), 1.0 / Math.Sqrt(headDim));
        var k = Ref.Select(qkv, 0, 1);
        var v = Ref.Select(qkv, 0, 2);
        var attn = Ref.MatMul(q, k, transposeB: true);
        attn = Ref.Add(attn, Ref.RelativePositionBias(weight(prefix + "attn.relative_position_bias_table"), window));
        if (shift > 0)
        {
            var mask = Ref.Reshape(Ref.ShiftedWindowMask(resolution, resolution, window, shift), windows, 1, tokens, tokens);
            attn = Ref.Reshape(Ref.Add(Ref.Reshape(attn, -1, windows, heads, tokens, tokens), mask), -1, heads, tokens, tokens);
        }
        var o = Ref.MatMul(Ref.Softmax(attn), v);
        o = Ref.Reshape(Ref.Permute(o, 0, 2, 1, 3), -1, tokens, dim);
        o = Ref.Linear(o, weight(prefix + "attn.proj.weight"), weight(prefix + "attn.proj.bias"));

        h = Ref.WindowReverse(o, window, resolution, resolution);
        if (shift > 0) h = Ref.Roll(h, shift, 1, 2);
        x = Ref.Add(x, h);

        // x + mlp(norm2(x)).
        var m = Ref.LayerNorm(x, weight(prefix + "norm2.weight"), weight(prefix + "norm2.bias"), 1e-5);
        m = Ref.Gelu(Ref.Linear(m, weight(prefix + "mlp.fc1.weight"), weight(prefix + "mlp.fc1.bias")));
        m = Ref.Linear(m, weight(prefix + "mlp.fc2.weight"), weight(prefix + "mlp.fc2.bias"));
        return Ref.Add(x, m);
    }

    /// <summary>
    /// The two blocks of a stage as the Swin models here declare them, windows of 7: "blocks.0." with regular windows, then
    /// "blocks.1." shifted by 3, with <paramref name="model"/>'s parameters.
    /// </summary>
    public static RefTensor TwoBlocks(IFusedModel model, RefTensor x, int dim, int heads, int resolution)
    {
        var weights = Weights(model);
        var h = Block(x, weights, "blocks.0.", dim, heads, resolution, window: 7, shift: 0);
        return Block(h, weights, "blocks.1.", dim, heads, resolution, window: 7, shift: 3);
    }

    /// <summary>Looks parameters up by key in <paramref name="model"/>, as float64.</summary>
    public static Func<string, RefTensor> Weights(IFusedModel model)
    {
        var byKey = model.NamedParameters().ToDictionary(p => p.Key, p => p.Parameter);
        return key => RefTensor.FromCpu(byKey.TryGetValue(key, out var p) ? p.Value : throw new KeyNotFoundException($"no parameter '{key}'"));
    }
}
