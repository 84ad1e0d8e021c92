using Fusion.Compiler;
using CDim = Fusion.Compiler.Dim;

namespace Fusion;

/// <summary>
/// Builds a kernel of the loop IR from a small graph of operators without a model: the eager path (one operator), and tests and
/// benchmarks that need the kernel a model would get for a chain (the generator groups the same way). Shapes are inferred by the
/// descriptors; a dynamic axis (<see cref="CDim.Batch"/>) is the batch the kernel is run with.
/// </summary>
internal sealed class KernelBuilder
{
    private readonly List<LoweringNode> _nodes = [];

    /// <summary>A tensor the kernel reads.</summary>
    public int Input(FloatType type, params CDim[] shape) => Add(Ops.Input.Name, [], AttributeSet.Empty, shape, type);

    /// <summary>A scalar constant operand.</summary>
    public int Const(double value, FloatType type) => Add(Ops.Const.Name, [], AttributeSet.Of(OpAttribute.Real("value", value)), [], type);

    /// <summary>An operator on earlier values, computed in <paramref name="type"/> (the first operand's when null).</summary>
    public int Op(OpDescriptor op, AttributeSet attributes, FloatType? type, params int[] inputs)
    {
        var shapes = inputs.Select(i => _nodes[i].Shape.ToArray()).ToList();
        var shape = op.InferShape(shapes, attributes, out var error) ?? throw new TensorMismatchException(op.Name, "operands that fit together", error!);
        return Add(op.Name, inputs, attributes, shape, type ?? _nodes[inputs[0]].Type);
    }

    public int Op(OpDescriptor op, params int[] inputs) => Op(op, AttributeSet.Empty, null, inputs);

    /// <summary>A conversion of <paramref name="x"/> to <paramref name="to"/>.</summary>
    public int Cast(int x, FloatType to) => Op(Ops.Cast, AttributeSet.Of(OpAttribute.Int("to", (long)to)), to, x);

    public LoweringNode this[int id] => _nodes[id];

    /// <summary>
    /// Every operator added so far as one kernel storing <paramref name="outputs"/> (the first one's shape is the domain); returns the
    /// kernel and the builder ids of its input buffers in argument order.
    /// </summary>
    public (GeneratedKernel Kernel, int[] Inputs) Build(string name, params int[] outputs)
    {
        var members = new HashSet<int>(_nodes.Where(n => n.Op != Ops.Input.Name && n.Op != Ops.Const.Name).Select(n => n.Id));
        var lowered = GroupLowering.Lower(name, i => _nodes[i], members, outputs);
        return (GeneratedKernel.From(lowered.Kernel), lowered.Inputs.ToArray());
    }

    private int Add(string op, int[] inputs, AttributeSet attributes, CDim[] shape, FloatType type)
    {
        _nodes.Add(new LoweringNode(_nodes.Count, op, inputs.ToEquatableArray(), attributes, shape.ToEquatableArray(), type));
        return _nodes.Count - 1;
    }
}
