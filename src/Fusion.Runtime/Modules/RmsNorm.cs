namespace Fusion;

/// <summary>
/// RMS normalization over the last axis, x/√(mean(x²) + eps)·weight (LLaMA's and T5's norm): the weight is [dim],
/// state-dict key "weight", initialised to ones.
/// </summary>
public sealed class RmsNorm
{
    public RmsNorm(int dim, float eps = 1e-6f)
    {
        Dim = dim;
        Eps = eps;
        weight = new Parameter(dim);
        weight.Fill(1f);
    }

    public int Dim { get; }

    public float Eps { get; }

#pragma warning disable IDE1006 // lower-case names match the PyTorch state-dict keys
    public Parameter weight { get; }
#pragma warning restore IDE1006
}
