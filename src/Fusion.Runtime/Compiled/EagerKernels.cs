using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Fusion.Compiler;

namespace Fusion;

/// <summary>
/// Operators called eagerly (<c>F.Exp(x)</c> outside a compiled model) through their descriptors: the operator is lowered on its
/// own, for the operands' concrete shapes and type, to a kernel of the loop IR (the same lowering a compiled model's kernels get),
/// which the backend runs like any generated kernel. Kernels are cached per operator, attributes, shapes and type.
/// </summary>
internal static class EagerKernels
{
    private static readonly ConcurrentDictionary<string, (GeneratedKernel Kernel, int[] Order)> s_kernels = new(StringComparer.Ordinal);

    /// <summary>
    /// <paramref name="op"/> applied to <paramref name="operands"/> (tensors, or floats for scalar operands) on <paramref name="backend"/>;
    /// the tensors share one float type, which the result has.
    /// </summary>
    public static Tensor Apply(IBackend backend, OpDescriptor op, AttributeSet attributes, params object[] operands)
    {
        ArgumentNullException.ThrowIfNull(backend);
        var tensors = operands.OfType<Tensor>().ToList();
        if (tensors.Count == 0) throw new FusionException($"{op.Name} needs at least one tensor operand");
        var dtype = tensors[0].DType;
        if (dtype is not (DType.Float32 or DType.Float16)) throw new TensorMismatchException($"{op.Name} operand", "a float tensor", dtype.ShortName());
        foreach (var t in tensors)
            if (t.DType != dtype) throw new TensorMismatchException($"{op.Name} operands", $"one float type ({dtype.ShortName()})", $"{t.DType.ShortName()}{t.Shape}");
        var key = $"{op.Name}|{attributes}|{dtype}|" + string.Join(";", operands.Select(o => o is Tensor t ? t.Shape.ToString() : "c" + Convert.ToDouble(o, System.Globalization.CultureInfo.InvariantCulture).ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
        var (kernel, order) = s_kernels.GetOrAdd(key, _ => Build(op, attributes, dtype, operands));
        var inputs = order.Select(i => (Tensor)operands[i]).ToArray();
        var outputs = backend.Run(kernel, 1, dtype, inputs);
        return outputs[0];
    }

    private static (GeneratedKernel, int[]) Build(OpDescriptor op, AttributeSet attributes, DType dtype, object[] operands)
    {
        var type = dtype == DType.Float16 ? FloatType.F16 : FloatType.F32;
        var nodes = new List<LoweringNode>();
        for (int i = 0; i < operands.Length; i++)
        {
            nodes.Add(operands[i] is Tensor t
                ? new LoweringNode(i, Ops.Input.Name, EquatableArray<int>.Empty, AttributeSet.Empty, t.Shape.ToArray().Select(d => Compiler.Dim.Static(d)).ToEquatableArray(), type)
                : new LoweringNode(i, Ops.Const.Name, EquatableArray<int>.Empty, AttributeSet.Of(OpAttribute.Real("value", Convert.ToDouble(operands[i], System.Globalization.CultureInfo.InvariantCulture))),
                    EquatableArray<Compiler.Dim>.Empty, type));
        }
        var shapes = nodes.Select(n => n.Shape.ToArray()).ToList();
        var shape = op.InferShape(shapes, attributes, out var error) ?? throw new TensorMismatchException(op.Name, "operands that fit together", error!);
        int id = nodes.Count;
        nodes.Add(new LoweringNode(id, op.Name, Enumerable.Range(0, operands.Length).ToEquatableArray(), attributes, shape.ToEquatableArray(), type));
        LoweredGroup lowered;
        try
        {
            lowered = GroupLowering.Lower("eager", i => nodes[i], new HashSet<int> { id }, [id]);
        }
        catch (LoweringException e)
        {
            throw new FusionException($"{op.Name} cannot run as one kernel on {string.Join(" and ", shapes.Select(Compiler.Dims.Text))}: {e.Message}");
        }
        var text = LoopIrText.Print(lowered.Kernel);
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..12].ToLowerInvariant();
        var named = lowered.Kernel with { Name = $"eager_{Snake(op.Name)}_{(type == FloatType.F16 ? "f16" : "f32")}_{hash}" };
        return (GeneratedKernel.From(named), lowered.Inputs.ToArray());
    }

    private static string Snake(string name) => string.Concat(name.Select((c, i) => char.IsUpper(c) && i > 0 ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}
