using Fusion.Cuda;

namespace Fusion;

/// <summary>
/// A compiled model's forward pass captured once as a CUDA graph and replayed: one launch instead of one
/// host call per operator, which is what small batches are bound by. Capture runs the model once
/// normally (compiling kernels, measuring GEMM paths, building constants), once more with its memory in a
/// private pool, then records a third run; every intermediate keeps the address it had at capture, so the
/// pool stays reserved for this graph until it is disposed. The input shape is fixed at capture. The graph is captured on and
/// replayed on the backend's <see cref="CudaBackend.Stream"/>: graphs of sibling backends (<see cref="CudaBackend.OnNewStream"/>)
/// replay concurrently, one thread each. One graph is not for several threads at once: its input and output are single buffers.
/// </summary>
public sealed class GraphedModel : IDisposable
{
    private readonly CudaBackend _backend;
    private readonly CudaTensor _input;
    private readonly Tensor _output;
    private readonly CudaGraph _graph;
    private readonly AllocationScope _memory;

    private GraphedModel(CudaBackend backend, CudaTensor input, Tensor output, CudaGraph graph, AllocationScope memory)
    {
        _backend = backend;
        _input = input;
        _output = output;
        _graph = graph;
        _memory = memory;
    }

    /// <summary>The input shape and dtype every <see cref="Run"/> must match.</summary>
    public Shape InputShape => _input.Shape;

    /// <summary>The captured pass's nodes by kind: the kernels one replay launches (cuBLASLt's included).</summary>
    public GraphNodeCount Nodes => _graph.Nodes;

    /// <summary>
    /// Captures <paramref name="model"/> on <paramref name="backend"/> for inputs shaped like <paramref name="example"/>, in
    /// <paramref name="precision"/>'s plan (when null: the plan the input's dtype implies). The passes run through
    /// <paramref name="through"/> when given: a decorator of <paramref name="backend"/> (a profiler recording events into the
    /// capture) that queues its work on the backend's stream.
    /// </summary>
    public static GraphedModel Capture(IFusedModel model, CudaBackend backend, Tensor example, Precision? precision = null, IBackend? through = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var runOn = through ?? backend;
        var stream = backend.Stream;
        var allocator = backend.CudaDevice.Allocator;
        var input = CudaTensor.Empty(stream, example.DType, example.Shape);
        try
        {
            input.CopyFrom(Resident(backend, example));
            using (Run(model, input, runOn, precision)) { } // kernels, fast-run choices, constants, parameters
            stream.Synchronize();

            var memory = allocator.OpenScope(stream);
            try
            {
                using (Run(model, input, runOn, precision)) { } // fills the private pool with exactly the blocks a run needs
                Tensor? output = null;
                var graph = CudaGraph.Capture(stream, _ => output = Run(model, input, runOn, precision));
                allocator.CloseScope(memory);
                return new GraphedModel(backend, input, output!, graph, memory);
            }
            catch
            {
                allocator.CloseScope(memory);
                memory.Dispose();
                throw;
            }
        }
        catch
        {
            input.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Copies <paramref name="input"/> into the captured input and replays the graph. The returned tensor is
    /// owned by this object and overwritten by the next Run: read or copy it first; do not dispose it.
    /// </summary>
    public Tensor Run(Tensor input)
    {
        input.Expect("graph input", _input.Shape, _input.DType);
        _input.CopyFrom(Resident(_backend, input));
        _graph.Launch(_backend.Stream);
        return _output;
    }

    /// <summary>One pass of the model in the plan of <paramref name="precision"/>, or the one the input's dtype implies.</summary>
    private static Tensor Run(IFusedModel model, Tensor input, IBackend backend, Precision? precision) =>
        precision is { } p ? model.Run([input], backend, p) : model.Run([input], backend);

    /// <summary>Replays the graph on the input already in place (for timing).</summary>
    public Tensor Replay()
    {
        _graph.Launch(_backend.Stream);
        return _output;
    }

    public void Dispose()
    {
        _backend.Stream.Synchronize();
        _graph.Dispose();
        _output.Dispose();
        _input.Dispose();
        _memory.Dispose();
    }

    private static CudaTensor Resident(CudaBackend backend, Tensor tensor) => tensor as CudaTensor
        ?? throw new TensorMismatchException("graph input", $"a tensor on {backend.Name}", tensor.ToString());
}
