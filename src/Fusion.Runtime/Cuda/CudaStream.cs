using Fusion.Cuda.Native;

namespace Fusion.Cuda;

/// <summary>A non-blocking CUDA stream: work on it is ordered, and it can be captured into a graph.</summary>
public sealed class CudaStream : IDisposable
{
    private const uint NonBlocking = 1;
    private IntPtr _handle;

    public CudaStream(CudaDevice device)
    {
        Device = device;
        device.MakeCurrent();
        CudaCheck.Driver(CuDriverApi.cuStreamCreate(out _handle, NonBlocking), "cuStreamCreate");
    }

    public CudaDevice Device { get; }

    internal IntPtr Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(_handle == IntPtr.Zero, this);
            return _handle;
        }
    }

    /// <summary>Blocks until everything queued on the stream has run; surfaces asynchronous kernel errors.</summary>
    public void Synchronize()
    {
        Device.MakeCurrent();
        CudaCheck.Driver(CuDriverApi.cuStreamSynchronize(Handle), "cuStreamSynchronize");
    }

    public void Dispose()
    {
        var h = Interlocked.Exchange(ref _handle, IntPtr.Zero);
        if (h != IntPtr.Zero) CudaCheck.Release(CuDriverApi.cuStreamDestroy_v2(h), "cuStreamDestroy_v2");
    }
}
