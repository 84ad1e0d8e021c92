using Fusion;

namespace ConvNeXtSample.Model;

/// <summary>timm's Mlp on channels-last features: fc1 → GELU (erf form, timm's "gelu") → fc2.</summary>
public sealed class Mlp(int dim, int hidden) : Module
{
    public readonly Linear fc1 = new(dim, hidden);
    public readonly Linear fc2 = new(hidden, dim);

    public Tensor Forward(Tensor x) => F.Linear(F.Gelu(F.Linear(x, fc1)), fc2);
}
