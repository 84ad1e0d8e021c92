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
        lock (_lock)
        {
            foreach (var (size, blocks) in _cache)
            {
                if (size < capacity) continue;
                if (size > 2 * capacity) break;
                var ptr = blocks.Pop();
                if (blocks.Count == 0) _cache.Remove(size);
                _cachedBytes -= size;
                _reuses++;
                _live++;
                return new DeviceMemory(this, ptr, bytes, size);
            }
        }
        var fresh = AllocateFromDriver(bytes, capacity);
        lock (_lock)
        {
            _reservedBytes += capacity;
            _live++;
        }
        return new DeviceMemory(this, fresh, bytes, capacity);
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
            if (!_cache.TryGetValue(block.Capacity, out var stack)) _cache[block.Capacity] = stack = new Stack<ulong>();
            stack.Push(block.Pointer);
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
