namespace Fusion.Cuda;

/// <summary>
/// A private pool of device blocks for one stream (see <see cref="CachingAllocator.OpenScope"/>): what a captured CUDA graph
/// writes into on every replay, so nothing else may be handed those blocks while the graph lives.
/// Disposing it gives the blocks to the shared cache.
/// </summary>
public sealed class AllocationScope : IDisposable
{
    private readonly CachingAllocator _allocator;

    internal AllocationScope(CachingAllocator allocator, CudaStream stream)
    {
        _allocator = allocator;
        Stream = stream;
    }

    /// <summary>The stream whose allocations the scope takes while it is open.</summary>
    public CudaStream Stream { get; }

    /// <summary>Freed blocks of this scope; guarded by the allocator's lock.</summary>
    internal SizePool Pool { get; } = new();

    public bool IsDisposed { get; private set; }

    public void Dispose()
    {
        if (IsDisposed) return;
        IsDisposed = true;
        _allocator.ReleaseScope(this);
    }
}
