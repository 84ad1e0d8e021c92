namespace Fusion.Cuda;

/// <summary>
/// Host values uploaded as device tensors by a constructor that keeps them: if a later upload fails, disposing this frees the
/// earlier ones; <see cref="Keep"/>, once every upload succeeded, hands them to their owner.
/// </summary>
internal sealed class DeviceUploads(CudaDevice device) : IDisposable
{
    private readonly List<CudaTensor> _uploaded = [];

    /// <summary><paramref name="values"/> (as many as <paramref name="dims"/> hold, of <paramref name="dtype"/>'s element type) on the device.</summary>
    public CudaTensor Of<T>(ReadOnlySpan<T> values, DType dtype, params int[] dims) where T : unmanaged
    {
        using var host = CpuTensor.Zeros(dtype, dims);
        var target = host.Span<T>();
        if (values.Length != target.Length) throw new ArgumentException($"{values.Length} values for a tensor of {target.Length}", nameof(values));
        values.CopyTo(target);
        var tensor = CudaTensor.FromHost(device, host);
        _uploaded.Add(tensor);
        return tensor;
    }

    public void Keep() => _uploaded.Clear();

    public void Dispose()
    {
        foreach (var t in _uploaded) t.Dispose();
        _uploaded.Clear();
    }
}
