using System;
using Fusion;

namespace SwinTiny.Model;

/// <summary>
/// timm's WindowAttention: multi-head self-attention inside each window, with a learned relative
/// position bias and, for shifted windows, the mask that keeps tokens from different image
/// regions apart. Input and output are [B·nW, window², dim].
/// </summary>
public sealed class WindowAttention(int dim, int heads, int window, int resolution, int shift) : Module
{
    public readonly Linear qkv = new(dim, 3 * dim);
    public readonly Linear proj = new(dim, dim);
    public readonly Parameter relative_position_bias_table = new((2 * window - 1) * (2 * window - 1), heads);

    private readonly int _dim = dim;
    private readonly int _heads = heads;
    private readonly int _tokens = window * window;
    private readonly int _windowsPerImage = resolution / window * (resolution / window);
    private readonly int _window = window;
    private readonly int _resolution = resolution;
    private readonly int _shift = shift;
    private readonly float _scale = 1f / MathF.Sqrt(dim / heads);

    public Tensor Forward(Tensor x)
    {
        var qkvOut = F.Linear(x, qkv);
        var split = F.Reshape(qkvOut, -1, _tokens, 3, _heads, _dim / _heads);
        split = F.Permute(split, 2, 0, 3, 1, 4);
        var q = F.Select(split, 0, 0);
        var k = F.Select(split, 0, 1);
        var v = F.Select(split, 0, 2);

        q = F.Mul(q, _scale);
        var attn = F.MatMul(q, k, transposeB: true);
        attn = F.Add(attn, F.RelativePositionBias(relative_position_bias_table, _window));
        if (_shift > 0)
        {
            var mask = F.ShiftedWindowMask(_resolution, _resolution, _window, _shift);
            mask = F.Reshape(mask, _windowsPerImage, 1, _tokens, _tokens);
            attn = F.Reshape(attn, -1, _windowsPerImage, _heads, _tokens, _tokens);
            attn = F.Add(attn, mask);
            attn = F.Reshape(attn, -1, _heads, _tokens, _tokens);
        }
        attn = F.Softmax(attn);

        var o = F.MatMul(attn, v);
        o = F.Permute(o, 0, 2, 1, 3);
        o = F.Reshape(o, -1, _tokens, _dim);
        return F.Linear(o, proj);
    }
}
