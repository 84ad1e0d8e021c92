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
    /// the tensors it reads share one float type, which the result has.
    /// </summary>
    public static Tensor Apply(IBackend backend, OpDescriptor op, AttributeSet attributes, params object[] operands)
    {
        ArgumentNullException.ThrowIfNull(backend);
        var tensors = operands.OfType<Tensor>().ToList();
        if (tensors.Count == 0) throw new FusionException($"{op.Name} needs at least one tensor operand");
        var dtype = tensors[0].DType;
        if (dtype is not (DType.Float32 or DType.Float16)) throw new TensorMismatchException($"{op.Name} operand", "a float tensor", dtype.ShortName());
        var key = $"{op.Name}|{attributes}|{dtype}|" + string.Join(";", operands.Select(o => o is Tensor t ? t.Shape.ToString() : "c" + Convert.ToDouble(o, System.Globalization.CultureInfo.InvariantCulture).ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
        var (kernel, order) = s_kernels.GetOrAdd(key, _ => Build(op, attributes, dtype, operands));
        var inputs = order.Select(i => (Tensor)operands[i]).ToArray();
        // Only the tensors the kernel reads share the first one's type (ExpandAs reads nothing of its 'like' but the shape).
        foreach (var t in inputs)
            if (t.DType != dtype) throw new TensorMismatchException($"{op.Name} operands", $"one float type ({dtype.ShortName()})", $"{t.DType.ShortName()}{t.Shape}");
        var outputs = backend.Run(kernel, 1, dtype, inputs);
        return outputs[0];
    }

    private static (GeneratedKernel, int[]) Build(OpDescriptor op, AttributeSet attributes, DType dtype, object[] operands)
    {
        var type = dtype == DType.Float16 ? FloatType.F16 : FloatType.F32;
        var graph = new KernelBuilder();
        var ids = operands.Select(o => o is Tensor t
            ? graph.Input(type, t.Shape.ToArray().Select(d => Compiler.Dim.Static(d)).ToArray())
            : graph.Const(Convert.ToDouble(o, System.Globalization.CultureInfo.InvariantCulture), type)).ToArray();
        int result = graph.Op(op, attributes, type, ids);
        try
        {
            var (kernel, inputs) = graph.Build("eager", result);
            // Builder ids of operands are their positions, so the kernel's inputs map straight back to the operands.
            return (Named(kernel, op.Name, type), inputs);
        }
        catch (LoweringException e)
        {
            throw new FusionException($"{op.Name} cannot run as one kernel on {string.Join(" and ", operands.OfType<Tensor>().Select(t => t.Shape.ToString()))}: {e.Message}");
        }
    }

    /// <summary>
    /// <paramref name="kernel"/> named after the operator, its type and a hash of its loop IR: backends keep kernels by name, so two
    /// eager kernels of one operator with different shapes or attributes must not share one.
    /// </summary>
    public static GeneratedKernel Named(GeneratedKernel kernel, string op, FloatType type)
    {
        var text = LoopIrText.Print(kernel.Ir);
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..12].ToLowerInvariant();
        return GeneratedKernel.From(kernel.Ir with { Name = $"eager_{Snake(op)}_{(type == FloatType.F16 ? "f16" : "f32")}_{hash}" });
    }

    private static string Snake(string name) => string.Concat(name.Select((c, i) => char.IsUpper(c) && i > 0 ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}
