namespace Fusion;

/// <summary>
/// A 2-d convolution like torch.nn.Conv2d with a square kernel: weight [out, in/groups, kernel, kernel], bias [out] (null
/// with <c>bias: false</c>). Input and output are NCHW; groups = in = out is a depthwise convolution.
/// </summary>
public sealed class Conv2d
{
    public Conv2d(int inChannels, int outChannels, int kernel, int stride = 1, int padding = 0, int dilation = 1, int groups = 1, bool bias = true)
    {
        if (inChannels < 1 || outChannels < 1 || kernel < 1 || stride < 1 || padding < 0 || dilation < 1 || groups < 1)
            throw new ArgumentException($"Conv2d({inChannels}, {outChannels}, kernel {kernel}, stride {stride}, padding {padding}, dilation {dilation}, groups {groups}): sizes must be positive and padding ≥ 0");
        if (inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"Conv2d's {groups} groups must divide its {inChannels} input and {outChannels} output channels");
        InChannels = inChannels;
        OutChannels = outChannels;
        Kernel = kernel;
        Stride = stride;
        Padding = padding;
        Dilation = dilation;
        Groups = groups;
        weight = new Parameter(outChannels, inChannels / groups, kernel, kernel);
        this.bias = bias ? new Parameter(outChannels) : null;
    }

    public int InChannels { get; }

    public int OutChannels { get; }

    public int Kernel { get; }

    public int Stride { get; }

    public int Padding { get; }

    public int Dilation { get; }

    public int Groups { get; }

#pragma warning disable IDE1006 // lower-case names match the PyTorch state-dict keys
    public Parameter weight { get; }

    public Parameter? bias { get; }
#pragma warning restore IDE1006
}
