using Fusion;

namespace SwinTiny.Model;

/// <summary>
/// timm's SwinTransformerBlock on [B, H, W, C]: x + attention(norm1(x)) over (shifted) windows,
/// then x + mlp(norm2(x)). A shift of 0 gives regular windows; window/2 gives shifted ones.
/// </summary>
public sealed class SwinBlock(int dim, int heads, int resolution, int window, int shift, int mlpRatio = 4) : Module
{
    public readonly LayerNorm norm1 = new(dim);
    public readonly WindowAttention attn = new(dim, heads, window, resolution, shift);
    public readonly LayerNorm norm2 = new(dim);
    public readonly Mlp mlp = new(dim, dim * mlpRatio);

    private readonly int _window = window;
    private readonly int _resolution = resolution;
    private readonly int _shift = shift;

    public Tensor Forward(Tensor x)
    {
        var h = F.LayerNorm(x, norm1);
        if (_shift > 0) h = F.Roll(h, -_shift, 1, 2);
        h = F.WindowPartition(h, _window);
        h = attn.Forward(h);
        h = F.WindowReverse(h, _window, _resolution, _resolution);
        if (_shift > 0) h = F.Roll(h, _shift, 1, 2);
        x = F.Add(x, h);

        var m = F.LayerNorm(x, norm2);
        m = mlp.Forward(m);
        return F.Add(x, m);
    }
}
