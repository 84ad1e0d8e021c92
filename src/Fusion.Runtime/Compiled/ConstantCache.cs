namespace Fusion;

/// <summary>
/// Values a compiled model derives from its parameters alone (the dense relative-position bias
/// gathered from its table, the shifted-window mask, reshaped weights): computed once per backend
/// and dtype, kept until a parameter they depend on is reloaded. Generated code owns one instance
/// per model object; the cached tensors are never disposed by Run. CUDA backends on sibling streams
/// (<see cref="CudaBackend.OnNewStream"/>) share one set: the first to need it builds it on its stream
/// and waits for that stream before the others may read it.
/// </summary>
public sealed class ConstantCache : IDisposable
{
    private readonly Dictionary<(IBackend Backend, DType DType), (long Stamp, Tensor[] Values)> _entries = new();
    private readonly object _lock = new();

    /// <summary>
    /// The constants for <paramref name="backend"/> and <paramref name="dtype"/>, rebuilt with
    /// <paramref name="build"/> when <paramref name="stamp"/> (the sum of the source parameters' versions) moved.
    /// </summary>
    public Tensor[] Get(IBackend backend, DType dtype, long stamp, Func<IBackend, DType, Tensor[]> build)
    {
        var family = backend is IStreamBackend sibling ? sibling.Family : backend;
        lock (_lock)
        {
            if (_entries.TryGetValue((family, dtype), out var entry) && entry.Stamp == stamp) return entry.Values;
            var values = build(backend, dtype);
            (backend as IStreamBackend)?.Synchronize();
            backend.AdoptConstants(values);
            if (entry.Values is not null) DisposeAll(entry.Values);
            _entries[(family, dtype)] = (stamp, values);
            return values;
        }
    }

    /// <summary>Number of (backend, dtype) sets held.</summary>
    public int Count
    {
        get
        {
            lock (_lock) return _entries.Count;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var entry in _entries.Values) DisposeAll(entry.Values);
            _entries.Clear();
        }
    }

    private static void DisposeAll(Tensor[] values)
    {
        foreach (var t in values) t.Dispose();
    }
}
