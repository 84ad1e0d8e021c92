using Fusion.Compiler;
using CDim = Fusion.Compiler.Dim;

namespace Fusion;

/// <summary>
/// A front-end operator (<c>F.Conv2d</c>, <c>F.MaxPool2d</c>, …) called eagerly: its descriptor's <see cref="OpDescriptor.Translate"/>
/// builds the same nodes the generator would, so the eager <c>Forward</c> and the compiled <c>Run</c> compute one graph, written
/// once. A Linear runs as the backend's GEMM; every other node waits until a GEMM or the caller needs its value, and then the
/// waiting chain runs as one generated kernel (a grouped convolution's windows, products and sum are one kernel, as compiled,
/// rather than a stored float16 product per tap). A chain that cannot be one kernel runs node by node.
/// </summary>
internal sealed class EagerTranslation : IOpCall, IDisposable
{
    private readonly IBackend _backend;
    private readonly AttributeSet _constants;
    private readonly IReadOnlyDictionary<string, Tensor?> _parameters;
    private readonly IReadOnlyDictionary<string, object> _arguments;
    private readonly List<object> _values = new(); // node id → Tensor, double (a scalar constant) or Pending
    private readonly List<Tensor> _owned = new();
    private readonly List<int> _inputs = new();

    /// <summary>A node not run yet.</summary>
    private sealed record Pending(OpDescriptor Op, AttributeSet Attributes, int[] Inputs);

    private EagerTranslation(IBackend backend, string method, IEnumerable<Tensor> tensors, AttributeSet constants,
        IReadOnlyDictionary<string, Tensor?> parameters, IReadOnlyDictionary<string, object> arguments)
    {
        _backend = backend;
        Method = method;
        _constants = constants;
        _parameters = parameters;
        _arguments = arguments;
        foreach (var t in tensors)
        {
            _inputs.Add(_values.Count);
            _values.Add(t);
        }
    }

    /// <summary>
    /// Runs <paramref name="op"/> on <paramref name="backend"/>: the call's tensors, its constant arguments as attributes, and for a
    /// layer its parameters (already in the run's type; owned by the backend) and constructor arguments by parameter name.
    /// </summary>
    public static Tensor Run(IBackend backend, OpDescriptor op, IEnumerable<Tensor> tensors, AttributeSet constants,
        IReadOnlyDictionary<string, Tensor?>? parameters = null, IReadOnlyDictionary<string, object>? arguments = null)
    {
        using var call = new EagerTranslation(backend, op.Name, tensors, constants,
            parameters ?? new Dictionary<string, Tensor?>(), arguments ?? new Dictionary<string, object>());
        var result = call.Materialize(op.Translate(call));
        call._owned.Remove(result); // the caller's now
        return result;
    }

    public string Method { get; }

    public IReadOnlyList<int> Tensors => _inputs;

    public AttributeSet ConstantAttributes() => _constants;

    public int LayerParameter(string key)
    {
        if (!_parameters.TryGetValue(key, out var p) || p is null) return -1;
        _values.Add(p);
        return _values.Count - 1;
    }

    public object? LayerArgument(string name) => _arguments.TryGetValue(name, out var v) ? v : null;

    public int Add(string op, IEnumerable<int> inputs, AttributeSet attributes)
    {
        var ids = inputs.ToArray();
        object value = op switch
        {
            "Const" => attributes.Float("value"),
            "Linear" => Own(_backend.Linear(Materialize(ids[0]), Materialize(ids[1]), ids.Length > 2 ? Materialize(ids[2]) : null)),
            _ => new Pending(Ops.Get(op), attributes, ids),
        };
        _values.Add(value);
        return _values.Count - 1;
    }

    public int Fail(string why) => throw new FusionException($"F.{Method}: {why}");

    /// <summary>Node <paramref name="id"/>'s tensor: run now, with every waiting node it reads, as one kernel when they lower to one.</summary>
    private Tensor Materialize(int id)
    {
        if (_values[id] is Tensor done) return done;
        var pending = (Pending)_values[id];
        Tensor result;
        try
        {
            result = RunAsOneKernel(id);
        }
        catch (LoweringException)
        {
            foreach (var input in pending.Inputs.Where(i => _values[i] is Pending)) Materialize(input);
            result = RunAsOneKernel(id); // one operator on stored operands always lowers
        }
        _values[id] = Own(result);
        return result;
    }

    private Tensor RunAsOneKernel(int id)
    {
        var builder = new KernelBuilder();
        var mapped = new Dictionary<int, int>();
        var tensors = new Dictionary<int, Tensor>(); // builder id → the tensor of an input
        var dtype = FirstTensor(id).DType;
        var type = dtype == DType.Float16 ? FloatType.F16 : FloatType.F32;
        int Map(int node)
        {
            if (mapped.TryGetValue(node, out var b)) return b;
            switch (_values[node])
            {
                case Tensor t:
                    b = builder.Input(type, t.Shape.ToArray().Select(d => CDim.Static(d)).ToArray());
                    tensors[b] = t;
                    break;
                case double scalar:
                    b = builder.Const(scalar, type);
                    break;
                default:
                    var p = (Pending)_values[node];
                    b = builder.Op(p.Op, p.Attributes, null, p.Inputs.Select(Map).ToArray());
                    break;
            }
            mapped[node] = b;
            return b;
        }
        int output = Map(id);
        var (kernel, inputs) = builder.Build("eager", output);
        var named = EagerKernels.Named(kernel, ((Pending)_values[id]).Op.Name, type);
        return _backend.Run(named, 1, dtype, inputs.Select(i => tensors[i]).ToArray())[0];
    }

    /// <summary>A tensor node <paramref name="id"/> reads, directly or through waiting nodes: its float type is the kernel's.</summary>
    private Tensor FirstTensor(int id) => _values[id] switch
    {
        Tensor t => t,
        Pending p => p.Inputs.Where(i => _values[i] is not double).Select(FirstTensor).First(),
        _ => throw new InvalidOperationException("a scalar has no tensor"),
    };

    private Tensor Own(Tensor t)
    {
        _owned.Add(t);
        return t;
    }

    public void Dispose()
    {
        foreach (var t in _owned) t.Dispose();
        _owned.Clear();
    }
}
