namespace Fusion;

/// <summary>
/// A convolution whose kernel equals its stride (a patch embedding), like
/// torch.nn.Conv2d(in, out, kernel_size=p, stride=p): weight [out, in, p, p], bias [out].
/// It runs as a GEMM over non-overlapping patches.
/// </summary>
public sealed class PatchConv
{
    public PatchConv(int inChannels, int outChannels, int patch)
    {
        InChannels = inChannels;
        OutChannels = outChannels;
        Patch = patch;
        weight = new Parameter(outChannels, inChannels, patch, patch);
        bias = new Parameter(outChannels);
    }

    public int InChannels { get; }

    public int OutChannels { get; }

    public int Patch { get; }

#pragma warning disable IDE1006 // lower-case names match the PyTorch state-dict keys
    public Parameter weight { get; }

    public Parameter bias { get; }
#pragma warning restore IDE1006
}
