using Fusion.Cuda.Native;

namespace Fusion.Cuda;

/// <summary>
/// Reuses freed device blocks instead of calling cuMemFree/cuMemAlloc, which synchronize the device.
/// Blocks are rounded up to 512 bytes; a request takes the smallest cached block that is at least
/// as large and at most twice as large. Every block is handed out for one stream (the device's default
/// stream unless told otherwise) and cached per stream when freed, because freeing is a host event while
/// the stream's work on the block may still be queued: the same stream may take it back at once (its later
/// work runs after its earlier work), and another stream takes it only behind an event of the old one
/// (<see cref="CudaStream.WaitFor"/>), so its work cannot start on the block before the old stream's is done.
/// A tensor used on a stream other than the one it was made for must have that use finished before it is freed.
/// Thread-safe.
/// </summary>
public sealed class CachingAllocator : IDisposable
{
    private const long Granularity = 512;
    private readonly CudaDevice _device;
    private readonly object _lock = new();
    private readonly Dictionary<CudaStream, SizePool> _cache = new(ReferenceEqualityComparer.Instance);
    // Blocks of destroyed streams (their work was waited for): any stream may take them without an event.
    private readonly SizePool _unordered = new();
    private readonly Dictionary<CudaStream, AllocationScope> _scopes = new(ReferenceEqualityComparer.Instance);
    private int _live;
    private long _cachedBytes;
    private long _reservedBytes;
    private long _reuses;
    private long _handoffs;

    internal CachingAllocator(CudaDevice device) => _device = device;

    /// <summary>Blocks handed out and not yet returned.</summary>
    public int LiveAllocations { get { lock (_lock) return _live; } }

    /// <summary>Bytes held in the cache, ready for reuse.</summary>
    public long CachedBytes { get { lock (_lock) return _cachedBytes; } }

    /// <summary>Bytes currently obtained from the driver (live plus cached).</summary>
    public long ReservedBytes { get { lock (_lock) return _reservedBytes; } }

    /// <summary>Allocations served from the cache.</summary>
    public long Reuses { get { lock (_lock) return _reuses; } }

    /// <summary>Cached blocks handed from one stream to another behind an event (<see cref="CudaStream.WaitFor"/>).</summary>
    public long StreamHandoffs { get { lock (_lock) return _handoffs; } }

    /// <summary>A block of at least <paramref name="bytes"/> for work on <paramref name="stream"/> (the device's default stream when null).</summary>
    public DeviceMemory Allocate(long bytes, CudaStream? stream = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        stream ??= _device.DefaultStream;
        if (!ReferenceEquals(stream.Device, _device)) throw new ArgumentException($"the stream belongs to {stream.Device}, not to {_device}", nameof(stream));
        long capacity = Math.Max(Granularity, (bytes + Granularity - 1) / Granularity * Granularity);
        lock (_lock)
        {
            var scope = _scopes.GetValueOrDefault(stream);
            // Inside a scope its own pool comes first: a graph's replays reuse exactly the blocks of its capture.
            if (scope is not null && scope.Pool.Take(capacity, out var own, out long ownSize))
                return Handed(own, bytes, ownSize, stream, scope);
            if (_cache.TryGetValue(stream, out var mine) && mine.Take(capacity, out var ptr, out long size)
                || _unordered.Take(capacity, out ptr, out size))
            {
                _cachedBytes -= size;
                return Handed(ptr, bytes, size, stream, scope);
            }
            // Not while a graph is being captured on this stream: a captured wait on an event recorded outside the capture is refused.
            if (scope is null)
            {
                foreach (var (other, pool) in _cache)
                {
                    if (ReferenceEquals(other, stream) || !pool.Take(capacity, out ptr, out size)) continue;
                    stream.WaitFor(other);
                    _handoffs++;
                    _cachedBytes -= size;
                    return Handed(ptr, bytes, size, stream, scope);
                }
            }
        }
        var fresh = AllocateFromDriver(bytes, capacity);
        lock (_lock)
        {
            _reservedBytes += capacity;
            _live++;
            return new DeviceMemory(this, fresh, bytes, capacity, stream, _scopes.GetValueOrDefault(stream));
        }
    }

    private DeviceMemory Handed(ulong pointer, long bytes, long size, CudaStream stream, AllocationScope? scope)
    {
        _reuses++;
        _live++;
        return new DeviceMemory(this, pointer, bytes, size, stream, scope);
    }

    /// <summary>
    /// Starts routing the allocations for <paramref name="stream"/> (the default stream when null) into a private pool: blocks
    /// allocated until <see cref="CloseScope"/> return to that pool when freed and stay out of the shared cache until the scope is
    /// disposed. One scope at a time per stream; other streams allocate as before.
    /// </summary>
    public AllocationScope OpenScope(CudaStream? stream = null)
    {
        stream ??= _device.DefaultStream;
        lock (_lock)
        {
            if (_scopes.ContainsKey(stream)) throw new InvalidOperationException("an allocation scope is already open on this stream");
            var scope = new AllocationScope(this, stream);
            _scopes.Add(stream, scope);
            return scope;
        }
    }

    /// <summary>Stops routing new allocations into <paramref name="scope"/>; its blocks stay reserved for it.</summary>
    public void CloseScope(AllocationScope scope)
    {
        ArgumentNullException.ThrowIfNull(scope);
        lock (_lock)
        {
            if (_scopes.TryGetValue(scope.Stream, out var open) && ReferenceEquals(open, scope)) _scopes.Remove(scope.Stream);
        }
    }

    /// <summary>Gives a disposed scope's pooled blocks to the shared cache, as blocks of its stream.</summary>
    internal void ReleaseScope(AllocationScope scope)
    {
        lock (_lock)
        {
            if (_scopes.TryGetValue(scope.Stream, out var open) && ReferenceEquals(open, scope)) _scopes.Remove(scope.Stream);
            _cachedBytes += PoolOf(scope.Stream).TakeAll(scope.Pool);
        }
    }

    /// <summary>
    /// Called by a stream being destroyed once its work is done: its cached blocks may go to any stream from now on.
    /// </summary>
    internal void Forget(CudaStream stream)
    {
        lock (_lock)
        {
            if (_cache.Remove(stream, out var pool)) _unordered.TakeAll(pool);
        }
    }

    /// <summary>Gives every cached block back to the driver (cuMemFree waits for the device, so queued work on them finishes first).</summary>
    public void ReleaseCached()
    {
        List<ulong> toFree;
        lock (_lock)
        {
            toFree = _cache.Values.Append(_unordered).SelectMany(p => p.Pointers()).ToList();
            _reservedBytes -= _cachedBytes;
            _cachedBytes = 0;
            _cache.Clear();
            _unordered.Clear();
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
                scope.Pool.Push(block.Capacity, block.Pointer);
                return;
            }
            PoolOf(block.Stream).Push(block.Capacity, block.Pointer);
            _cachedBytes += block.Capacity;
        }
    }

    /// <summary>The cache of <paramref name="stream"/>'s blocks (the unordered pool once the stream is destroyed). Under the lock.</summary>
    private SizePool PoolOf(CudaStream stream)
    {
        if (stream.IsDisposed) return _unordered;
        if (!_cache.TryGetValue(stream, out var pool)) _cache[stream] = pool = new SizePool();
        return pool;
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
