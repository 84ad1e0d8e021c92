using System.Diagnostics;
using Fusion.Cuda;
using Fusion.Cuda.Fused;

namespace Fusion.Run;

/// <summary>
/// An <see cref="IBackend"/> decorator that times every operator call and sums the time per name: a fused op under its
/// kernel's name (e.g. <c>layer_norm_roll_window_partition_f16_nx56x56x96</c>), an unfused one under the operator's name. On CUDA
/// it has two clocks. Launched one by one (the default), each call is bracketed by two events recorded on the device's default
/// stream (where the backend queues its work) and read after <see cref="Collect"/> synchronizes; <see cref="BeginPass"/> queues a
/// <see cref="StreamHold"/> in front of a pass, long enough for the host to queue the whole pass behind it, so each event pair
/// measures the GPU's time for the call and not the host's launch overhead (which at batch 1 is longer than most kernels). Inside a
/// CUDA graph (<c>eventsInGraph</c>: the pass is captured through this decorator), an event is recorded as a node of the graph
/// before the first call and after each call, and <see cref="CollectReplay"/> reads the intervals after each replay: each call's
/// time then runs from the end of the call before it to its own end, as the graph runs it (its launch gap inside the graph
/// included, and the event node's own cost, which a kernel-to-kernel boundary does not have), and the calls sum to the profiled
/// replay. On the CPU a stopwatch times the call itself. Each call is also an NVTX range when
/// NVTX is available. Param, FromHost and ToHost (lookups and copies, not operators) pass through untimed.
/// </summary>
internal sealed class ProfilingBackend : IBackend, IDisposable
{
    private readonly IBackend _inner;
    private readonly CudaBackend? _cuda;
    private readonly List<(CudaEvent Start, CudaEvent End)> _events = [];
    private readonly List<(string Name, int EventIndex)> _pending = [];
    private readonly Dictionary<string, (int Calls, double Ms)> _totals = new(StringComparer.Ordinal);
    private readonly bool _eventsInGraph;
    // Inside a graph: _boundaries[0] is recorded before the first captured call, _boundaries[i + 1] after call i (_graphCalls[i]).
    private readonly List<CudaEvent> _boundaries = [];
    private readonly List<string> _graphCalls = [];
    private int _runs;
    private StreamHold? _hold;

    /// <param name="inner">The backend the calls run on.</param>
    /// <param name="eventsInGraph">
    /// On CUDA, time the calls of a pass captured as a graph through this decorator (events recorded as graph nodes while the stream
    /// captures; passes outside a capture run untimed) instead of calls launched one by one.
    /// </param>
    public ProfilingBackend(IBackend inner, bool eventsInGraph = false)
    {
        _inner = inner;
        _cuda = inner as CudaBackend;
        _eventsInGraph = eventsInGraph && _cuda is not null;
    }

    /// <summary>What the table's times are: events inside the graph, events per call launched alone, or the host stopwatch on the CPU.</summary>
    public string Clock => _cuda is null ? "host stopwatch per call"
        : _eventsInGraph ? "CUDA event nodes between the calls inside the replayed graph: each call from the end of the one before (its launch gap in the graph included)"
        : "CUDA events per call, each pass queued behind a stream hold: GPU time only";

    /// <summary>The calls captured inside the graph, in order (eventsInGraph only).</summary>
    public int CapturedCalls => _graphCalls.Count;

    public string Name => _inner.Name;

    public DeviceKind Device => _inner.Device;

    /// <summary>
    /// Starts a profiled pass: on CUDA, holds the stream for <paramref name="hold"/> so the host queues the pass before the GPU
    /// runs it (pass about three times the host's time to queue one pass).
    /// </summary>
    public void BeginPass(TimeSpan hold)
    {
        if (_cuda is null) return;
        _hold ??= new StreamHold(_cuda.Jit);
        _hold.Hold(_cuda.CudaDevice.DefaultStream, hold);
    }

    /// <summary>Ends one profiled forward pass: waits for the device and adds this pass's times to the totals.</summary>
    public void Collect()
    {
        if (_cuda is not null)
        {
            _cuda.Synchronize();
            foreach (var (name, index) in _pending)
                Add(name, CudaEvent.ElapsedMilliseconds(_events[index].Start, _events[index].End));
            _pending.Clear();
        }
        _runs++;
    }

    /// <summary>
    /// After a replay of the graph captured through this decorator: waits for the device and adds each captured call's interval
    /// to the totals.
    /// </summary>
    public void CollectReplay()
    {
        if (!_eventsInGraph) throw new InvalidOperationException("CollectReplay: this profiler times calls launched one by one; use Collect");
        if (_graphCalls.Count == 0) throw new InvalidOperationException("CollectReplay: no call was captured through this profiler");
        _cuda!.Synchronize();
        for (int i = 0; i < _graphCalls.Count; i++)
            Add(_graphCalls[i], CudaEvent.ElapsedMilliseconds(_boundaries[i], _boundaries[i + 1]));
        _runs++;
    }

    /// <summary>Forgets what was measured so far (after a pass that built constants or compiled kernels).</summary>
    public void Reset()
    {
        if (_cuda is not null) _cuda.Synchronize();
        _pending.Clear();
        _totals.Clear();
        _runs = 0;
    }

    /// <summary>The table of the passes collected since the last <see cref="Reset"/>.</summary>
    public KernelProfile Result() => KernelProfile.From(_totals, Math.Max(_runs, 1), Clock);

    private void Add(string name, double ms)
    {
        _totals.TryGetValue(name, out var total);
        _totals[name] = (total.Calls + 1, total.Ms + ms);
    }

    private T Time<T>(string name, Func<T> call)
    {
        Nvtx.Push(name);
        try
        {
            if (_eventsInGraph) return TimeInGraph(name, call);
            if (_cuda is not null)
            {
                int index = _pending.Count;
                if (index == _events.Count) _events.Add((new CudaEvent(_cuda.CudaDevice), new CudaEvent(_cuda.CudaDevice)));
                var (start, end) = _events[index];
                start.Record(_cuda.CudaDevice.DefaultStream);
                var result = call();
                end.Record(_cuda.CudaDevice.DefaultStream);
                _pending.Add((name, index));
                return result;
            }
            long began = Stopwatch.GetTimestamp();
            var value = call();
            Add(name, Stopwatch.GetElapsedTime(began).TotalMilliseconds);
            return value;
        }
        finally
        {
            Nvtx.Pop();
        }
    }

    // Records an event node before the capture's first call and after each call; outside a capture the call runs untimed (the
    // passes that build constants and fill the graph's memory pool before it).
    private T TimeInGraph<T>(string name, Func<T> call)
    {
        var stream = _cuda!.Stream;
        if (!stream.IsCapturing) return call();
        if (_boundaries.Count == 0) RecordBoundary(stream);
        var result = call();
        RecordBoundary(stream);
        _graphCalls.Add(name);
        return result;
    }

    private void RecordBoundary(CudaStream stream)
    {
        var boundary = new CudaEvent(_cuda!.CudaDevice);
        _boundaries.Add(boundary);
        boundary.RecordAsGraphNode(stream);
    }

    public Tensor Param(Parameter parameter, DType dtype) => _inner.Param(parameter, dtype);

    public Tensor ParamCopy(Parameter parameter, DType dtype) => _inner.ParamCopy(parameter, dtype);

    public void AdoptConstants(IReadOnlyList<Tensor> values) => _inner.AdoptConstants(values);

    public Tensor FromHost(CpuTensor host) => _inner.FromHost(host);

    public CpuTensor ToHost(Tensor tensor) => _inner.ToHost(tensor);

    public Tensor Cast(Tensor x, DType dtype) => Time("Cast", () => _inner.Cast(x, dtype));

    public Tensor Linear(Tensor x, Tensor weight, Tensor? bias) => Time("Linear", () => _inner.Linear(x, weight, bias));

    public Tensor MatMul(Tensor a, Tensor b, bool transposeB) => Time("MatMul", () => _inner.MatMul(a, b, transposeB));

    public Tensor Add(Tensor a, Tensor b) => Time("Add", () => _inner.Add(a, b));

    public Tensor Mul(Tensor x, float scalar) => Time("Mul", () => _inner.Mul(x, scalar));

    public Tensor Gelu(Tensor x) => Time("Gelu", () => _inner.Gelu(x));

    public Tensor Relu(Tensor x) => Time("Relu", () => _inner.Relu(x));

    public Tensor LayerNorm(Tensor x, Tensor weight, Tensor bias, float eps) => Time("LayerNorm", () => _inner.LayerNorm(x, weight, bias, eps));

    // The dtype-writing forms (a cast folded into the operator) pass through as one call, so the profile shows the backend's fused form.
    public Tensor LayerNorm(Tensor x, Tensor weight, Tensor bias, float eps, DType dtype) =>
        Time("LayerNorm", () => _inner.LayerNorm(x, weight, bias, eps, dtype));

    public Tensor Softmax(Tensor x) => Time("Softmax", () => _inner.Softmax(x));

    public Tensor Reshape(Tensor x, Shape shape) => Time("Reshape", () => _inner.Reshape(x, shape));

    public Tensor Permute(Tensor x, ReadOnlySpan<int> axes)
    {
        var copy = axes.ToArray();
        return Time("Permute", () => _inner.Permute(x, copy));
    }

    public Tensor Select(Tensor x, int axis, int index) => Time("Select", () => _inner.Select(x, axis, index));

    public Tensor Roll(Tensor x, int shift, ReadOnlySpan<int> axes)
    {
        var copy = axes.ToArray();
        return Time("Roll", () => _inner.Roll(x, shift, copy));
    }

    public Tensor WindowPartition(Tensor x, int window) => Time("WindowPartition", () => _inner.WindowPartition(x, window));

    public Tensor WindowReverse(Tensor x, int window, int height, int width) => Time("WindowReverse", () => _inner.WindowReverse(x, window, height, width));

    public Tensor PatchMerging(Tensor x) => Time("PatchMerging", () => _inner.PatchMerging(x));

    public Tensor Patchify(Tensor x, int patch) => Time("Patchify", () => _inner.Patchify(x, patch));

    public Tensor Patchify(Tensor x, int patch, DType dtype) => Time("Patchify", () => _inner.Patchify(x, patch, dtype));

    public Tensor Mean(Tensor x, int firstAxis, int count) => Time("Mean", () => _inner.Mean(x, firstAxis, count));

    public Tensor Mean(Tensor x, int firstAxis, int count, DType dtype) => Time("Mean", () => _inner.Mean(x, firstAxis, count, dtype));

    public Tensor RelativePositionBias(Tensor table, int window) => Time("RelativePositionBias", () => _inner.RelativePositionBias(table, window));

    public Tensor QkvRelayout(Tensor x, int heads) => Time("QkvRelayout", () => _inner.QkvRelayout(x, heads));

    public Tensor ShiftedWindowMask(int height, int width, int window, int shift, DType dtype) =>
        Time("ShiftedWindowMask", () => _inner.ShiftedWindowMask(height, width, window, shift, dtype));

    public Tensor[] Run(GeneratedKernel kernel, int batch, DType io, params Tensor[] inputs) =>
        Time(kernel.Name, () => _inner.Run(kernel, batch, io, inputs));

    public Tensor[] Gemm(GemmKernel kernel, int batch, DType io, Tensor x, Tensor weight, params Tensor[] epilogueInputs) =>
        Time(kernel.Name, () => _inner.Gemm(kernel, batch, io, x, weight, epilogueInputs));

    /// <summary>
    /// The two GEMMs timed one by one; on CUDA with FUSION_MLP on (the default) the inner backend's Mlp as one row (the fused kernel where
    /// it applies, else both GEMMs).
    /// </summary>
    public Tensor[] Mlp(GemmKernel up, GemmKernel down, int batch, DType io, Tensor x, Tensor w1, Tensor[] upInputs, Tensor w2, Tensor[] downInputs) =>
        Device == DeviceKind.Cuda && Fusion.Cuda.Fused.FusedMlp.Enabled
            ? Time(up.Name + " + " + down.Name, () => _inner.Mlp(up, down, batch, io, x, w1, upInputs, w2, downInputs))
            : IBackend.MlpAsPair(this, up, down, batch, io, x, w1, upInputs, w2, downInputs);

    /// <summary>
    /// The projection and the attention (and the output projection) timed one by one, or on CUDA the inner backend's one-kernel form
    /// as one row where it runs (<see cref="CudaBackend.RunsQkvForm"/>: FUSION_QKV_ATTENTION, FUSION_QKV_OUT and the form's rule), so
    /// that each row is one kernel.
    /// </summary>
    public Tensor QkvAttention(GemmKernel projection, int batch, DType io, Tensor x, Tensor w, Tensor[] projectionInputs, Tensor bias, Tensor? mask, int heads,
        float scale, FusedKernel attention, AttentionOutput? output = null)
    {
        if (output is not null && RunsQkvForm(projection, io, x, w, projectionInputs, bias, mask, heads, attention, norm: null, output))
            return Time(projection.Name + " + " + attention.Name + OutputName(output),
                () => _inner.QkvAttention(projection, batch, io, x, w, projectionInputs, bias, mask, heads, scale, attention, output));
        var attended = RunsQkvForm(projection, io, x, w, projectionInputs, bias, mask, heads, attention, norm: null, output: null)
            ? Time(projection.Name + " + " + attention.Name, () => _inner.QkvAttention(projection, batch, io, x, w, projectionInputs, bias, mask, heads, scale, attention))
            : IBackend.QkvAttentionAsPair(this, projection, batch, io, x, w, projectionInputs, bias, mask, heads, scale, attention);
        return IBackend.ThenOutput(this, batch, io, output, attended);
    }

    /// <summary>
    /// The norm kernel, projection and attention (and the output projection) timed one by one, or on CUDA the inner backend's
    /// one-kernel form with the norm prologue (and the output projection) as one row where it runs (FUSION_QKV_NORM as well), so that
    /// each row is one kernel.
    /// </summary>
    public Tensor NormQkvAttention(GeneratedKernel norm, WindowNorm geometry, Tensor[] normInputs, GemmKernel projection, int batch, DType io, Tensor w,
        Tensor[] projectionInputs, Tensor bias, Tensor? mask, int heads, float scale, FusedKernel attention, AttentionOutput? output = null)
    {
        (string, WindowNorm, Tensor, Tensor)? prologue = normInputs.Length == 3 ? (norm.Name, geometry, normInputs[1], normInputs[2]) : null;
        string names = norm.Name + " + " + projection.Name + " + " + attention.Name;
        if (prologue is not null && output is not null
            && RunsQkvForm(projection, io, normInputs[0], w, projectionInputs, bias, mask, heads, attention, prologue, output))
            return Time(names + OutputName(output),
                () => _inner.NormQkvAttention(norm, geometry, normInputs, projection, batch, io, w, projectionInputs, bias, mask, heads, scale, attention, output));
        if (prologue is not null && RunsQkvForm(projection, io, normInputs[0], w, projectionInputs, bias, mask, heads, attention, prologue, output: null))
            return IBackend.ThenOutput(this, batch, io, output, Time(names,
                () => _inner.NormQkvAttention(norm, geometry, normInputs, projection, batch, io, w, projectionInputs, bias, mask, heads, scale, attention)));
        return IBackend.NormQkvAttentionAsPair(this, norm, normInputs, projection, batch, io, w, projectionInputs, bias, mask, heads, scale, attention, output);
    }

    /// <summary>Whether the inner backend (CUDA only) runs the one-kernel QKV form on these operands (<see cref="CudaBackend.RunsQkvForm"/>).</summary>
    private bool RunsQkvForm(GemmKernel projection, DType io, Tensor x, Tensor w, Tensor[] projectionInputs, Tensor bias, Tensor? mask, int heads,
        FusedKernel attention, (string, WindowNorm, Tensor, Tensor)? norm, AttentionOutput? output) =>
        _cuda is not null && _cuda.RunsQkvForm(projection, io, x, w, projectionInputs, bias, mask, heads, attention, norm, output);

    private static string OutputName(AttentionOutput? output) => output is null ? "" : " + " + output.Projection.Name;

    public Tensor Attention(Tensor q, Tensor k, Tensor v, Tensor? bias, AttentionLayout layout, float scale, bool causal, FusedKernel kernel) =>
        Time(kernel.Name, () => _inner.Attention(q, k, v, bias, layout, scale, causal, kernel));

    public Tensor[] Attention(Tensor q, Tensor k, Tensor v, Tensor? bias, AttentionLayout layout, float scale, bool causal, FusedKernel kernel, int batch, DType io,
        params Tensor[] epilogueInputs) =>
        Time(kernel.Name, () => _inner.Attention(q, k, v, bias, layout, scale, causal, kernel, batch, io, epilogueInputs));

    public Tensor WindowAttention(Tensor qkv, Tensor bias, Tensor? mask, int heads, float scale, FusedKernel kernel) =>
        Time(kernel.Name, () => _inner.WindowAttention(qkv, bias, mask, heads, scale, kernel));

    public Tensor[] WindowAttention(Tensor qkv, Tensor bias, Tensor? mask, int heads, float scale, FusedKernel kernel, int batch, DType io,
        params Tensor[] epilogueInputs) =>
        Time(kernel.Name, () => _inner.WindowAttention(qkv, bias, mask, heads, scale, kernel, batch, io, epilogueInputs));

    public void Dispose()
    {
        foreach (var (start, end) in _events)
        {
            start.Dispose();
            end.Dispose();
        }
        _events.Clear();
        foreach (var boundary in _boundaries) boundary.Dispose(); // after the graph that records them (its owner disposes it first)
        _boundaries.Clear();
        _hold?.Dispose();
    }
}
