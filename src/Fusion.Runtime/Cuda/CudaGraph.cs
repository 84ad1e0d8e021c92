using Fusion.Cuda.Native;

namespace Fusion.Cuda;

/// <summary>
/// An instantiated CUDA graph: work recorded once by stream capture, replayed with one launch.
/// Replays run the captured kernels with the captured arguments, so buffers must stay alive.
/// </summary>
public sealed class CudaGraph : IDisposable
{
    private IntPtr _exec;
    private readonly CudaDevice _device;

    private CudaGraph(CudaDevice device, IntPtr exec, GraphNodeCount nodes)
    {
        _device = device;
        _exec = exec;
        Nodes = nodes;
    }

    /// <summary>The captured graph's nodes by kind: how many kernels one replay launches.</summary>
    public GraphNodeCount Nodes { get; }

    /// <summary>Captures what <paramref name="record"/> queues on <paramref name="stream"/> (nothing runs during capture).</summary>
    public static CudaGraph Capture(CudaStream stream, Action<CudaStream> record)
    {
        var device = stream.Device;
        device.MakeCurrent();
        // Thread-local mode: other threads may keep allocating and copying while this one captures.
        CudaCheck.Driver(CuDriverApi.cuStreamBeginCapture_v2(stream.Handle, CuStreamCaptureMode.ThreadLocal), "cuStreamBeginCapture_v2");
        IntPtr graph;
        try
        {
            record(stream);
        }
        catch
        {
            // Leave the stream usable: end the (now abandoned) capture before rethrowing.
            if (CuDriverApi.cuStreamEndCapture(stream.Handle, out graph) == CuResult.Success && graph != IntPtr.Zero)
                CuDriverApi.cuGraphDestroy(graph);
            throw;
        }
        CudaCheck.Driver(CuDriverApi.cuStreamEndCapture(stream.Handle, out graph), "cuStreamEndCapture");
        try
        {
            var nodes = GraphNodeCount.Of(graph);
            CudaCheck.Driver(CuDriverApi.cuGraphInstantiateWithFlags(out var exec, graph, 0), "cuGraphInstantiateWithFlags");
            return new CudaGraph(device, exec, nodes);
        }
        finally
        {
            CudaCheck.Release(CuDriverApi.cuGraphDestroy(graph), "cuGraphDestroy"); // the executable graph keeps its own copy
        }
    }

    /// <summary>Replays the graph on <paramref name="stream"/>.</summary>
    public void Launch(CudaStream stream)
    {
        ObjectDisposedException.ThrowIf(_exec == IntPtr.Zero, this);
        _device.MakeCurrent();
        CudaCheck.Driver(CuDriverApi.cuGraphLaunch(_exec, stream.Handle), "cuGraphLaunch");
    }

    public void Dispose()
    {
        var h = Interlocked.Exchange(ref _exec, IntPtr.Zero);
        if (h == IntPtr.Zero) return;
        _device.TryMakeCurrent();
        CudaCheck.Release(CuDriverApi.cuGraphExecDestroy(h), "cuGraphExecDestroy");
    }
}
