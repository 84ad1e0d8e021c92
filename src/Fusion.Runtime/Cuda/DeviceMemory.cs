namespace Fusion.Cuda;

/// <summary>
/// A block of device memory handed out by a <see cref="CachingAllocator"/>. Disposing returns it
/// to the allocator's cache (not to the driver), so the next allocation of a similar size is free.
/// </summary>
public sealed class DeviceMemory : IDisposable
{
    private readonly CachingAllocator _owner;
    private int _returned;

    internal DeviceMemory(CachingAllocator owner, ulong pointer, long size, long capacity, CudaStream stream, AllocationScope? scope)
    {
        _owner = owner;
        Stream = stream;
        Scope = scope;
        Pointer = pointer;
        Size = size;
        Capacity = capacity;
    }

    /// <summary>The device address (CUdeviceptr).</summary>
    public ulong Pointer { get; }

    /// <summary>Bytes requested.</summary>
    public long Size { get; }

    /// <summary>Bytes actually reserved (the size class the block came from).</summary>
    public long Capacity { get; }

    public bool IsDisposed => _returned != 0;

    /// <summary>The stream the block was handed out for: its work on the block is ordered, other streams' is not.</summary>
    public CudaStream Stream { get; }

    /// <summary>The private pool this block belongs to (a captured CUDA graph's), or null for the shared cache.</summary>
    internal AllocationScope? Scope { get; }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _returned, 1) == 0) _owner.Return(this);
    }
}
