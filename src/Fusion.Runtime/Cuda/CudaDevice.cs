using System.Text;
using Fusion.Cuda.Native;

namespace Fusion.Cuda;

/// <summary>
/// One CUDA device and its primary context. Every managed CUDA object belongs to a device, and
/// makes the context current on the calling thread before it touches the driver, because the
/// driver's current context is per thread and tests and callers may hop threads.
/// </summary>
public sealed unsafe class CudaDevice : IDisposable
{
    private readonly IntPtr _context;
    private bool _disposed;

    private CudaDevice(int ordinal, int handle, IntPtr context)
    {
        Ordinal = ordinal;
        _context = context;
        Name = QueryName(handle);
        ComputeCapabilityMajor = Attribute(CuDeviceAttribute.ComputeCapabilityMajor, handle);
        ComputeCapabilityMinor = Attribute(CuDeviceAttribute.ComputeCapabilityMinor, handle);
        MultiprocessorCount = Attribute(CuDeviceAttribute.MultiprocessorCount, handle);
        MaxSharedMemoryPerBlock = Attribute(CuDeviceAttribute.MaxSharedMemoryPerBlockOptIn, handle);
        CudaCheck.Driver(CuDriverApi.cuDeviceTotalMem_v2(out var total, handle), "cuDeviceTotalMem_v2");
        TotalMemory = (long)total;
        Handle = handle;
        MakeCurrent();
        DefaultStream = new CudaStream(this);
        Allocator = new CachingAllocator(this);
    }

    public int Ordinal { get; }

    public string Name { get; }

    public int ComputeCapabilityMajor { get; }

    public int ComputeCapabilityMinor { get; }

    /// <summary>Major·10 + minor, e.g. 90 for sm_90: what feature checks compare ("FP8 needs 89 or newer").</summary>
    public int ComputeCapability => ComputeCapabilityMajor * 10 + ComputeCapabilityMinor;

    /// <summary>The NVRTC/PTX architecture name, e.g. sm_90.</summary>
    public string Architecture => $"sm_{ComputeCapabilityMajor}{ComputeCapabilityMinor}";

    public int MultiprocessorCount { get; }

    /// <summary>The most shared memory (static and dynamic) one block may have, once its kernel opts in (227 KB on Hopper).</summary>
    public int MaxSharedMemoryPerBlock { get; }

    public long TotalMemory { get; }

    /// <summary>The stream tensors copy and compute on unless told otherwise.</summary>
    public CudaStream DefaultStream { get; }

    /// <summary>The caching allocator behind every tensor of this device.</summary>
    public CachingAllocator Allocator { get; }

    internal int Handle { get; }

    /// <summary>Initializes the driver and returns how many devices it sees (throws if libcuda is missing).</summary>
    public static int Count()
    {
        CudaLibraryResolver.Load(CudaLibraryResolver.Driver);
        CudaCheck.Driver(CuDriverApi.cuInit(0), "cuInit");
        CudaCheck.Driver(CuDriverApi.cuDeviceGetCount(out var count), "cuDeviceGetCount");
        return count;
    }

    /// <summary>Opens device <paramref name="ordinal"/> and retains its primary context.</summary>
    public static CudaDevice Open(int ordinal = 0)
    {
        CudaCheck.ThrowIfLost();
        int count = Count();
        if (ordinal < 0 || ordinal >= count)
            throw new FusionException($"CUDA device {ordinal} does not exist: the driver sees {count} device(s)");
        CudaCheck.Driver(CuDriverApi.cuDeviceGet(out var handle, ordinal), "cuDeviceGet");
        CudaCheck.Driver(CuDriverApi.cuDevicePrimaryCtxRetain(out var context, handle), "cuDevicePrimaryCtxRetain");
        return new CudaDevice(ordinal, handle, context);
    }

    /// <summary>Binds this device's context to the calling thread; fails fast once a sticky error has occurred.</summary>
    public void MakeCurrent()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CudaCheck.ThrowIfLost();
        CudaCheck.Driver(CuDriverApi.cuCtxSetCurrent(_context), "cuCtxSetCurrent");
    }

    /// <summary>For release paths, which must not throw: binds the context unless the device is lost or disposed.</summary>
    internal bool TryMakeCurrent()
    {
        if (_disposed || CudaCheck.LostReason is not null) return false;
        return CuDriverApi.cuCtxSetCurrent(_context) == CuResult.Success;
    }

    /// <summary>Free and total device memory in bytes, as the driver reports them.</summary>
    public (long Free, long Total) MemoryInfo()
    {
        MakeCurrent();
        CudaCheck.Driver(CuDriverApi.cuMemGetInfo_v2(out var free, out var total), "cuMemGetInfo_v2");
        return ((long)free, (long)total);
    }

    /// <summary>Waits for all work on the device.</summary>
    public void Synchronize()
    {
        MakeCurrent();
        CudaCheck.Driver(CuDriverApi.cuCtxSynchronize(), "cuCtxSynchronize");
    }

    public override string ToString() => $"cuda:{Ordinal} {Name} ({Architecture}, {MultiprocessorCount} SMs, {TotalMemory >> 20} MiB)";

    public void Dispose()
    {
        if (_disposed) return;
        TryMakeCurrent();
        Allocator.Dispose();
        DefaultStream.Dispose();
        _disposed = true;
        CudaCheck.Release(CuDriverApi.cuDevicePrimaryCtxRelease_v2(Handle), "cuDevicePrimaryCtxRelease_v2");
    }

    private static int Attribute(CuDeviceAttribute attribute, int handle)
    {
        CudaCheck.Driver(CuDriverApi.cuDeviceGetAttribute(out var value, attribute, handle), $"cuDeviceGetAttribute({attribute})");
        return value;
    }

    private static string QueryName(int handle)
    {
        var buffer = stackalloc byte[256];
        CudaCheck.Driver(CuDriverApi.cuDeviceGetName(buffer, 256, handle), "cuDeviceGetName");
        int len = 0;
        while (len < 256 && buffer[len] != 0) len++;
        return Encoding.UTF8.GetString(buffer, len);
    }
}
