using Fusion.Cuda.Native;

namespace Fusion.Cuda;

/// <summary>A loaded CUBIN or PTX image. Kernels taken from it stay valid until the module is disposed.</summary>
public sealed unsafe class CudaModule : IDisposable
{
    private IntPtr _handle;

    private CudaModule(CudaDevice device, IntPtr handle, bool awaitsPreviousGrid)
    {
        Device = device;
        _handle = handle;
        AwaitsPreviousGrid = awaitsPreviousGrid;
    }

    public CudaDevice Device { get; }

    /// <summary>
    /// Whether every kernel of the module waits for the previous grid before touching memory (its source calls
    /// FUSION_AWAIT_PREVIOUS_GRID() first: <see cref="ProgrammaticLaunch"/>), so it may be launched before that grid ends.
    /// </summary>
    public bool AwaitsPreviousGrid { get; }

    /// <summary>
    /// Loads a CUBIN (or NUL-terminated PTX) image into the device's context. <paramref name="awaitsPreviousGrid"/>: see
    /// <see cref="AwaitsPreviousGrid"/>; only the caller that compiled the source knows it.
    /// </summary>
    public static CudaModule Load(CudaDevice device, ReadOnlySpan<byte> image, bool awaitsPreviousGrid = false)
    {
        device.MakeCurrent();
        fixed (byte* p = image)
        {
            CudaCheck.Driver(CuDriverApi.cuModuleLoadData(out var handle, p), "cuModuleLoadData");
            return new CudaModule(device, handle, awaitsPreviousGrid);
        }
    }

    /// <summary>The extern "C" kernel named <paramref name="name"/>.</summary>
    public CudaKernel GetKernel(string name)
    {
        ObjectDisposedException.ThrowIf(_handle == IntPtr.Zero, this);
        Device.MakeCurrent();
        var result = CuDriverApi.cuModuleGetFunction(out var function, _handle, name);
        if (result != CuResult.Success)
            throw CudaCheck.DriverError(result, $"cuModuleGetFunction(\"{name}\")");
        return new CudaKernel(this, name, function);
    }

    public void Dispose()
    {
        var h = Interlocked.Exchange(ref _handle, IntPtr.Zero);
        if (h == IntPtr.Zero) return;
        Device.TryMakeCurrent();
        CudaCheck.Release(CuDriverApi.cuModuleUnload(h), "cuModuleUnload");
    }
}
