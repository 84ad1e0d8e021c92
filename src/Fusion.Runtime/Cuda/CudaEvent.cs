using Fusion.Cuda.Native;

namespace Fusion.Cuda;

/// <summary>A CUDA event: a point in a stream that the host or another stream can wait for, and (with timing) measure to.</summary>
public sealed class CudaEvent : IDisposable
{
    private const uint DisableTiming = 2;
    private const uint RecordExternal = 1; // CU_EVENT_RECORD_EXTERNAL
    private IntPtr _handle;

    /// <summary>A new event; without <paramref name="timing"/> it only orders work, which makes recording and waiting on it cheaper.</summary>
    public CudaEvent(CudaDevice device, bool timing = true)
    {
        Device = device;
        device.MakeCurrent();
        CudaCheck.Driver(CuDriverApi.cuEventCreate(out _handle, timing ? 0 : DisableTiming), "cuEventCreate");
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

    public void Record(CudaStream stream)
    {
        Device.MakeCurrent();
        CudaCheck.Driver(CuDriverApi.cuEventRecord(Handle, stream.Handle), "cuEventRecord");
    }

    /// <summary>
    /// Records the event as a node of the graph <paramref name="stream"/> is capturing (an external event record node): every
    /// replay of the graph records it again at that point, so events between a graph's kernels time them inside the graph. Only
    /// during a capture (the driver refuses it otherwise).
    /// </summary>
    public void RecordAsGraphNode(CudaStream stream)
    {
        Device.MakeCurrent();
        CudaCheck.Driver(CuDriverApi.cuEventRecordWithFlags(Handle, stream.Handle, RecordExternal), "cuEventRecordWithFlags");
    }

    public void Synchronize()
    {
        Device.MakeCurrent();
        CudaCheck.Driver(CuDriverApi.cuEventSynchronize(Handle), "cuEventSynchronize");
    }

    /// <summary>Milliseconds of device time from <paramref name="start"/> to <paramref name="end"/> (waits for <paramref name="end"/>).</summary>
    public static float ElapsedMilliseconds(CudaEvent start, CudaEvent end)
    {
        end.Synchronize();
        CudaCheck.Driver(CuDriverApi.cuEventElapsedTime(out var ms, start.Handle, end.Handle), "cuEventElapsedTime");
        return ms;
    }

    public void Dispose()
    {
        var h = Interlocked.Exchange(ref _handle, IntPtr.Zero);
        if (h != IntPtr.Zero) CudaCheck.Release(CuDriverApi.cuEventDestroy_v2(h), "cuEventDestroy_v2");
    }
}
