using Fusion.Cuda.Native;

namespace Fusion.Cuda;

/// <summary>
/// A non-blocking CUDA stream: work on it is ordered, and it can be captured into a graph. Device memory is handed out
/// per stream (<see cref="CachingAllocator"/>): a block freed by work of this stream is reused on it at once, and on another
/// stream only behind an event of this one (<see cref="WaitFor"/>).
/// </summary>
public sealed class CudaStream : IDisposable
{
    private const uint NonBlocking = 1;
    private readonly Lock _markerLock = new();
    private IntPtr _handle;
    private volatile bool _retired;
    private CudaEvent? _marker;

    public CudaStream(CudaDevice device)
    {
        Device = device;
        device.MakeCurrent();
        CudaCheck.Driver(CuDriverApi.cuStreamCreate(out _handle, NonBlocking), "cuStreamCreate");
    }

    public CudaDevice Device { get; }

    /// <summary>True from the moment <see cref="Dispose"/> starts.</summary>
    public bool IsDisposed => _retired;

    /// <summary>The handle, for queuing anything but a Fusion kernel: what follows it is no longer behind one of those.</summary>
    internal IntPtr Handle
    {
        get
        {
            _fusionKernelLast = false;
            return CurrentHandle;
        }
    }

    private IntPtr CurrentHandle
    {
        get
        {
            var handle = Volatile.Read(ref _handle);
            ObjectDisposedException.ThrowIf(handle == IntPtr.Zero, this);
            return handle;
        }
    }

    // Whether the last thing queued here was a kernel launched by CudaKernel.Launch. Programmatic dependent launch relaxes the
    // order against the previous kernel only, so CudaKernel uses it only right behind one of its own, never behind a copy, a
    // memset, an event (a profiled call, another stream's work) or a library call such as cuBLASLt's.
    private bool _fusionKernelLast;

    /// <summary>The handle for <see cref="CudaKernel.Launch"/>, and whether the last thing queued was another such launch.</summary>
    internal IntPtr HandleForKernel(out bool afterFusionKernel)
    {
        afterFusionKernel = _fusionKernelLast;
        _fusionKernelLast = false;
        return CurrentHandle;
    }

    /// <summary>Called by <see cref="CudaKernel.Launch"/> once its launch is queued.</summary>
    internal void FusionKernelQueued() => _fusionKernelLast = true;

    /// <summary>Blocks until everything queued on the stream has run; surfaces asynchronous kernel errors.</summary>
    public void Synchronize()
    {
        Device.MakeCurrent();
        CudaCheck.Driver(CuDriverApi.cuStreamSynchronize(CurrentHandle), "cuStreamSynchronize");
    }

    /// <summary>Whether the stream is being captured into a graph (work queued now is recorded, not run: it cannot be timed).</summary>
    public bool IsCapturing
    {
        get
        {
            Device.MakeCurrent();
            CudaCheck.Driver(CuDriverApi.cuStreamIsCapturing(CurrentHandle, out int status), "cuStreamIsCapturing");
            return status != 0; // CU_STREAM_CAPTURE_STATUS_NONE
        }
    }

    /// <summary>
    /// Makes work queued on this stream from now on wait until everything queued on <paramref name="other"/> so far has run.
    /// The host does not wait: an event is recorded on <paramref name="other"/> and this stream waits for it on the GPU.
    /// </summary>
    public void WaitFor(CudaStream other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (ReferenceEquals(other, this)) return;
        // One event per stream is enough: a wait binds to the record before it, so re-recording later changes no queued wait.
        lock (other._markerLock)
        {
            other._marker ??= new CudaEvent(Device, timing: false);
            other._marker.Record(other);
            CudaCheck.Driver(CuDriverApi.cuStreamWaitEvent(Handle, other._marker.Handle, 0), "cuStreamWaitEvent");
        }
    }

    /// <summary>
    /// Waits for the stream's work (so its cached memory may go to any stream), then destroys it. A stream lost to a sticky
    /// error is destroyed without waiting.
    /// </summary>
    public void Dispose()
    {
        if (_retired || _handle == IntPtr.Zero) return;
        if (Device.TryMakeCurrent()) CudaCheck.Release(CuDriverApi.cuStreamSynchronize(_handle), "cuStreamSynchronize");
        _retired = true; // blocks freed from now on go to the allocator's unordered pool
        Device.Allocator.Forget(this);
        var h = Interlocked.Exchange(ref _handle, IntPtr.Zero);
        if (h == IntPtr.Zero) return;
        lock (_markerLock) _marker?.Dispose();
        CudaCheck.Release(CuDriverApi.cuStreamDestroy_v2(h), "cuStreamDestroy_v2");
    }
}
