using Fusion.Compiler;
using Fusion.Testing;
using CDim = Fusion.Compiler.Dim;

namespace Fusion.Runtime.Tests.Compiler;

/// <summary>
/// A graph of <see cref="LoweringNode"/>s written by hand, as the scheduler would hand them to <see cref="GroupLowering"/>:
/// shapes come from the descriptors' shape rules, and any node's float64 value is its descriptors' references chained.
/// </summary>
internal sealed class LoweringGraph
{
    private readonly List<LoweringNode> _nodes = [];

    public LoweringNode this[int id] => _nodes[id];

    public int Count => _nodes.Count;

    /// <summary>A value the group reads from a buffer (an activation).</summary>
    public int Input(FloatType type, params CDim[] shape) =>
        Append(Ops.Input.Name, [], AttributeSet.Empty, shape, type);

    /// <summary>A learned parameter (read from a buffer like an input).</summary>
    public int Param(FloatType type, params CDim[] shape) =>
        Append(Ops.Param.Name, [], AttributeSet.Empty, shape, type);

    public int Const(double value) =>
        Append(Ops.Const.Name, [], AttributeSet.Of(OpAttribute.Real("value", value)), [], FloatType.F32);

    /// <summary>A node of <paramref name="op"/>; its float type is <paramref name="type"/>, else its first tensor operand's.</summary>
    public int Op(OpDescriptor op, int[] inputs, AttributeSet? attributes = null, FloatType? type = null)
    {
        var attrs = attributes ?? AttributeSet.Empty;
        var shape = op.InferShape(inputs.Select(i => _nodes[i].Shape.ToArray()).ToList(), attrs, out var error)
            ?? throw new ArgumentException($"{op.Name}: {error}");
        var own = type ?? inputs.Select(i => _nodes[i]).Where(n => n.Op != Ops.Const.Name).Select(n => n.Type).DefaultIfEmpty(FloatType.F32).First();
        return Append(op.Name, inputs, attrs, shape, own);
    }

    public LoweredGroup Lower(string name, IEnumerable<int> members, params int[] outputs) =>
        GroupLowering.Lower(name, i => _nodes[i], members.ToHashSet(), outputs);

    /// <summary>The group lowered and wrapped as the runtime's eager path does (<see cref="GeneratedKernel.From"/>: loop IR, CUDA C, launch shape).</summary>
    public GeneratedKernel Kernel(string name, IEnumerable<int> members, params int[] outputs) =>
        GeneratedKernel.From(Lower(name, members, outputs).Kernel);

    /// <summary>A GEMM epilogue's lowering: <paramref name="accumulator"/> is read as the template's result, over <paramref name="domain"/>.</summary>
    public LoweredGroup LowerEpilogue(string name, IEnumerable<int> members, int[] outputs, int accumulator, CDim[] domain) =>
        GroupLowering.Lower(name, i => _nodes[i], members.ToHashSet(), outputs, accumulator, domain: domain);

    /// <summary>A GEMM epilogue whose result <paramref name="source"/> is summed into <paramref name="reduction"/> (through <paramref name="permutes"/>) by accumulating stores.</summary>
    public LoweredGroup LowerPooledEpilogue(string name, IEnumerable<int> members, int source, int[] permutes, int reduction, int accumulator, CDim[] domain) =>
        GroupLowering.LowerAccumulated(name, i => _nodes[i], members.ToHashSet(), source, permutes, reduction, accumulator, domain);

    /// <summary>Random values for every input the group reads, at <paramref name="batch"/>, exactly representable in the buffer's type.</summary>
    public Dictionary<int, RefTensor> RandomInputs(LoweredGroup group, long batch, DType io, int seed)
    {
        var values = new Dictionary<int, RefTensor>();
        foreach (var id in group.Inputs)
        {
            var shape = RefArray.ShapeOf(_nodes[id].Shape.ToArray(), batch).Select(d => checked((int)d)).ToArray();
            values[id] = TestData.Random(seed + id, LoopInterpreter.Resolve(_nodes[id].Type, io), shape);
        }
        return values;
    }

    /// <summary>
    /// Runs the group's kernel as a compiled model would (printed to IR text and CUDA C, parsed back, interpreted by the CPU
    /// backend) on <paramref name="inputs"/>; returns its outputs in buffer order.
    /// </summary>
    public RefTensor[] Run(LoweredGroup group, int batch, DType io, IReadOnlyDictionary<int, RefTensor> inputs)
    {
        var kernel = GeneratedKernel.From(group.Kernel);
        var tensors = group.Inputs.Select(id => (Tensor)inputs[id].ToCpu(LoopInterpreter.Resolve(_nodes[id].Type, io))).ToArray();
        try
        {
            var outputs = CpuBackend.Instance.Run(kernel, batch, io, tensors);
            try
            {
                return outputs.Select(o => RefTensor.FromCpu((CpuTensor)o)).ToArray();
            }
            finally
            {
                foreach (var o in outputs) o.Dispose();
            }
        }
        finally
        {
            foreach (var t in tensors) t.Dispose();
        }
    }

    /// <summary>Node <paramref name="id"/> in float64: the descriptors' references chained from <paramref name="inputs"/>.</summary>
    public RefTensor Reference(int id, IReadOnlyDictionary<int, RefTensor> inputs)
    {
        var memo = new Dictionary<int, RefArray>();
        var result = ToTensor(Evaluate(id, inputs, memo));
        result.Seed = inputs.Values.Select(v => v.Seed).FirstOrDefault(s => s is not null);
        return result;
    }

    public string Describe(int id)
    {
        var n = _nodes[id];
        return $"{n.Op} {Dims.Text(n.Shape)}";
    }

    public static RefArray ToArray(RefTensor t) => new(t.Shape.Select(d => (long)d).ToArray(), (double[])t.Data.Clone());

    public static RefTensor ToTensor(RefArray a) => new(a.Shape.Select(d => checked((int)d)).ToArray(), a.Data);

    private RefArray Evaluate(int id, IReadOnlyDictionary<int, RefTensor> inputs, Dictionary<int, RefArray> memo)
    {
        if (memo.TryGetValue(id, out var known)) return known;
        var node = _nodes[id];
        var value = inputs.TryGetValue(id, out var given) ? ToArray(given)
            : Ops.Get(node.Op).Reference(node.Inputs.Select(i => Evaluate(i, inputs, memo)).ToList(), node.Attributes);
        memo[id] = value;
        return value;
    }

    private int Append(string op, int[] inputs, AttributeSet attributes, IEnumerable<CDim> shape, FloatType type)
    {
        int id = _nodes.Count;
        _nodes.Add(new LoweringNode(id, op, inputs.ToEquatableArray(), attributes, shape.ToEquatableArray(), type));
        return id;
    }
}
