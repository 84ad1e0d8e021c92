namespace Fusion;

/// <summary>Layer normalization over the last axis, like torch.nn.LayerNorm: weight [dim], bias [dim].</summary>
public sealed class LayerNorm
{
    public LayerNorm(int dim, float eps = 1e-5f)
    {
        Dim = dim;
        Eps = eps;
        weight = new Parameter(dim);
        bias = new Parameter(dim);
        weight.Fill(1f);
    }

    public int Dim { get; }

    public float Eps { get; }

#pragma warning disable IDE1006 // lower-case names match the PyTorch state-dict keys
    public Parameter weight { get; }

    public Parameter bias { get; }
#pragma warning restore IDE1006
}
