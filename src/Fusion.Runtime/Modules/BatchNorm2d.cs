namespace Fusion;

/// <summary>
/// Batch normalization in inference form, like torch.nn.BatchNorm2d in eval mode: weight, bias, running_mean and running_var,
/// each [channels]. A state dict's num_batches_tracked is a training counter and is not a parameter here.
/// </summary>
public sealed class BatchNorm2d
{
    public BatchNorm2d(int channels, float eps = 1e-5f)
    {
        if (channels < 1) throw new ArgumentException($"BatchNorm2d needs at least one channel, got {channels}");
        Channels = channels;
        Eps = eps;
        weight = new Parameter(channels);
        bias = new Parameter(channels);
        running_mean = new Parameter(channels);
        running_var = new Parameter(channels);
        weight.Fill(1f);
        running_var.Fill(1f);
    }

    public int Channels { get; }

    public float Eps { get; }

#pragma warning disable IDE1006 // lower-case names match the PyTorch state-dict keys
    public Parameter weight { get; }

    public Parameter bias { get; }

    public Parameter running_mean { get; }

    public Parameter running_var { get; }
#pragma warning restore IDE1006
}
