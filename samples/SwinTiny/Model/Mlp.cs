using Fusion;

namespace SwinTiny.Model;

/// <summary>timm's Mlp: fc1 → GELU → fc2.</summary>
public sealed class Mlp(int dim, int hidden) : Module
{
    public readonly Linear fc1 = new(dim, hidden);
    public readonly Linear fc2 = new(hidden, dim);

    public Tensor Forward(Tensor x)
    {
        var h = F.Linear(x, fc1);
        h = F.Gelu(h);
        return F.Linear(h, fc2);
    }
}
