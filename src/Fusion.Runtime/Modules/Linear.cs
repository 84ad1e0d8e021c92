namespace Fusion;

/// <summary>y = x·Wᵀ + b, like torch.nn.Linear: weight [out, in], bias [out].</summary>
public sealed class Linear
{
    public Linear(int inFeatures, int outFeatures, bool bias = true)
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        weight = new Parameter(outFeatures, inFeatures);
        this.bias = bias ? new Parameter(outFeatures) : null;
    }

    public int InFeatures { get; }

    public int OutFeatures { get; }

#pragma warning disable IDE1006 // lower-case names match the PyTorch state-dict keys
    public Parameter weight { get; }

    public Parameter? bias { get; }
#pragma warning restore IDE1006
}
