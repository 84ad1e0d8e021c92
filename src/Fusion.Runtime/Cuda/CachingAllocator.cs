using Fusion.Cuda.Native;

namespace Fusion.Cuda;

/// <summary>
/// Reuses freed device blocks instead of calling cuMemFree/cuMemAlloc, which synchronize the device.
/// Blocks are rounded up to 512 bytes; a request takes the smallest cached block that is at least
/// as large and at most twice as large. Reuse is stream-ordered for the device's default stream:
/// memory used on another stream must be synchronized before its owner is disposed.
/// </summary>
public sealed class CachingAllocator : IDisposable
{
    private const long Granularity = 512;
    private readonly CudaDevice _device;
    private readonly object _lock = new();
    private readonly SortedDictionary<long, Stack<ulong>> _cache = new();
    private int _live;
    private long _cachedBytes;
    private long _reservedBytes;
    private long _reuses;
    private AllocationScope? _activeScope;

    internal CachingAllocator(CudaDevice device) => _device = device;

    /// <summary>Blocks handed out and not yet returned.</summary>
    public int LiveAllocations { get { lock (_lock) return _live; } }

    /// <summary>Bytes held in the cache, ready for reuse.</summary>
    public long CachedBytes { get { lock (_lock) return _cachedBytes; } }

    /// <summary>Bytes currently obtained from the driver (live plus cached).</summary>
    public long ReservedBytes { get { lock (_lock) return _reservedBytes; } }

    /// <summary>Allocations served from the cache.</summary>
    public long Reuses { get { lock (_lock) return _reuses; } }

    public DeviceMemory Allocate(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        long capacity = Math.Max(Granularity, (bytes + Granularity - 1) / Granularity * Granularity);
        AllocationScope? scope;
        lock (_lock)
        {
            scope = _activeScope;
            // Inside a scope its own pool comes first: a graph's replays reuse exactly the blocks of its capture.
            if (scope is not null && TakeFrom(scope.Pool, capacity, out var own, out long ownSize))
            {
                _reuses++;
                _live++;
                return new DeviceMemory(this, own, bytes, ownSize, scope);
            }
            if (TakeFrom(_cache, capacity, out var ptr, out long size))
            {
                _cachedBytes -= size;
                _reuses++;
                _live++;
                return new DeviceMemory(this, ptr, bytes, size, scope);
            }
        }
        var fresh = AllocateFromDriver(bytes, capacity);
        lock (_lock)
        {
            _reservedBytes += capacity;
            _live++;
        }
        return new DeviceMemory(this, fresh, bytes, capacity, scope);
    }

    /// <summary>
    /// Starts routing allocations into a private pool: blocks allocated until <see cref="CloseScope"/> return to that
    /// pool when freed and stay out of the shared cache until the scope is disposed. One scope at a time.
    /// </summary>
    public AllocationScope OpenScope()
    {
        lock (_lock)
        {
            if (_activeScope is not null) throw new InvalidOperationException("an allocation scope is already open on this device");
            _activeScope = new AllocationScope(this);
            return _activeScope;
        }
    }

    /// <summary>Stops routing new allocations into <paramref name="scope"/>; its blocks stay reserved for it.</summary>
    public void CloseScope(AllocationScope scope)
    {
        lock (_lock)
        {
            if (ReferenceEquals(_activeScope, scope)) _activeScope = null;
        }
    }

    /// <summary>Gives a disposed scope's pooled blocks to the shared cache.</summary>
    internal void ReleaseScope(AllocationScope scope)
    {
        lock (_lock)
        {
            if (ReferenceEquals(_activeScope, scope)) _activeScope = null;
            foreach (var (size, blocks) in scope.Pool)
            {
                foreach (var ptr in blocks) Push(_cache, size, ptr);
                _cachedBytes += size * blocks.Count;
            }
            scope.Pool.Clear();
        }
    }

    private static bool TakeFrom(SortedDictionary<long, Stack<ulong>> pool, long capacity, out ulong pointer, out long size)
    {
        foreach (var (blockSize, blocks) in pool)
        {
            if (blockSize < capacity) continue;
            if (blockSize > 2 * capacity) break;
            pointer = blocks.Pop();
            if (blocks.Count == 0) pool.Remove(blockSize);
            size = blockSize;
            return true;
        }
        pointer = 0;
        size = 0;
        return false;
    }

    private static void Push(SortedDictionary<long, Stack<ulong>> pool, long size, ulong pointer)
    {
        if (!pool.TryGetValue(size, out var stack)) pool[size] = stack = new Stack<ulong>();
        stack.Push(pointer);
    }

    /// <summary>Gives every cached block back to the driver.</summary>
    public void ReleaseCached()
    {
        List<ulong> toFree;
        lock (_lock)
        {
            toFree = _cache.Values.SelectMany(s => s).ToList();
            _reservedBytes -= _cachedBytes;
            _cachedBytes = 0;
            _cache.Clear();
        }
        if (toFree.Count == 0) return;
        _device.TryMakeCurrent();
        foreach (var p in toFree) CudaCheck.Release(CuDriverApi.cuMemFree_v2(p), "cuMemFree_v2");
    }

    internal void Return(DeviceMemory block)
    {
        lock (_lock)
        {
            _live--;
            if (block.Scope is { IsDisposed: false } scope)
            {
                Push(scope.Pool, block.Capacity, block.Pointer);
                return;
            }
            Push(_cache, block.Capacity, block.Pointer);
            _cachedBytes += block.Capacity;
        }
    }

    public void Dispose() => ReleaseCached();

    private ulong AllocateFromDriver(long requested, long capacity)
    {
        _device.MakeCurrent();
        var result = CuDriverApi.cuMemAlloc_v2(out var ptr, (nuint)capacity);
        if (result == CuResult.OutOfMemory)
        {
            long cached = CachedBytes;
            ReleaseCached();
            result = CuDriverApi.cuMemAlloc_v2(out ptr, (nuint)capacity);
            if (result == CuResult.OutOfMemory)
            {
                var (free, total) = _device.MemoryInfo();
                throw new CudaOutOfMemoryException(requested, free, total, cached);
            }
        }
        CudaCheck.Driver(result, $"cuMemAlloc_v2({capacity} bytes)");
        return ptr;
    }
}
