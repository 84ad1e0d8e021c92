using Fusion.Compiler;
using CDim = Fusion.Compiler.Dim;

namespace Fusion.Runtime.Tests.Compiler;

/// <summary>
/// Single-operator kernels as the eager path lowers them (one node of the operator over its inputs), for every descriptor the
/// lowering takes, with the first input of the run's io type and the others f16.
/// </summary>
internal static class SingleOpKernels
{
    private static readonly CDim N = CDim.Batch();

    private static CDim S(long value) => CDim.Static(value);

    /// <summary>One case per lowerable descriptor (two for Pow: a special-cased and a general exponent), odd shapes with a batch; edge cases last.</summary>
    public static readonly IReadOnlyList<(string Op, CDim[][] Inputs, AttributeSet Attributes)> Cases =
    [
        ("Add", [[N, S(3), S(5)], [S(5)]], AttributeSet.Empty),
        ("Sub", [[N, S(3), S(5)], [N, S(1), S(5)]], AttributeSet.Empty),
        ("Mul", [[N, S(3), S(5)], [S(3), S(1)]], AttributeSet.Empty),
        ("Div", [[S(5)], [N, S(3), S(5)]], AttributeSet.Empty),
        ("Neg", [[N, S(3), S(5)]], AttributeSet.Empty),
        ("Abs", [[N, S(3), S(5)]], AttributeSet.Empty),
        ("Exp", [[N, S(3), S(5)]], AttributeSet.Empty),
        ("Log", [[N, S(3), S(5)]], AttributeSet.Empty),
        ("Sqrt", [[N, S(3), S(5)]], AttributeSet.Empty),
        ("Rsqrt", [[N, S(3), S(5)]], AttributeSet.Empty),
        ("Tanh", [[N, S(3), S(5)]], AttributeSet.Empty),
        ("Pow", [[N, S(3), S(5)]], AttributeSet.Of(OpAttribute.Real("exponent", 1.7))),
        ("Pow", [[N, S(3), S(5)]], AttributeSet.Of(OpAttribute.Real("exponent", -1))),
        ("Relu", [[N, S(3), S(5)]], AttributeSet.Empty),
        ("Gelu", [[N, S(3), S(5)]], AttributeSet.Empty),
        ("GeluTanh", [[N, S(3), S(5)]], AttributeSet.Empty),
        ("Sigmoid", [[N, S(3), S(5)]], AttributeSet.Empty),
        ("Silu", [[N, S(3), S(5)]], AttributeSet.Empty),
        ("HardSwish", [[N, S(3), S(5)]], AttributeSet.Empty),
        ("Clamp", [[N, S(3), S(5)]], AttributeSet.Of(OpAttribute.Real("min", -0.25), OpAttribute.Real("max", double.PositiveInfinity))),
        ("Cast", [[N, S(3), S(5)]], AttributeSet.Of(OpAttribute.Int("to", (long)FloatType.F16))),
        ("Cast", [[N, S(3), S(5)]], AttributeSet.Of(OpAttribute.Int("to", (long)FloatType.I8))),
        ("Int8Scale", [[N, S(3), S(5)]], AttributeSet.Empty),
        ("Cast", [[N, S(3), S(5)]], AttributeSet.Of(OpAttribute.Int("to", (long)FloatType.F8))),
        ("Fp8Scale", [[N, S(3), S(5)]], AttributeSet.Empty),
        ("Where", [[S(3), S(1)], [N, S(3), S(5)], [S(5)]], AttributeSet.Empty),
        ("MaskedFill", [[N, S(3), S(5)], [S(3), S(1)]], AttributeSet.Of(OpAttribute.Real("value", double.NegativeInfinity))),
        ("LayerNorm", [[N, S(3), S(5)], [S(5)], [S(5)]], AttributeSet.Of(OpAttribute.Real("eps", 1e-5))),
        ("RmsNorm", [[N, S(3), S(5)], [S(5)]], AttributeSet.Of(OpAttribute.Real("eps", 1e-6))),
        ("Softmax", [[N, S(3), S(5)]], AttributeSet.Of(OpAttribute.Int("axis", 1))),
        ("Sum", [[N, S(3), S(5)]], AttributeSet.Of(OpAttribute.IntList("axes", [1, 2]), OpAttribute.Int("keepDim", 0))),
        ("Mean", [[N, S(3), S(5)]], AttributeSet.Of(OpAttribute.IntList("axes", [-1]), OpAttribute.Int("keepDim", 1))),
        ("Max", [[N, S(3), S(5)]], AttributeSet.Of(OpAttribute.IntList("axes", [1]), OpAttribute.Int("keepDim", 0))),
        ("Reshape", [[N, S(3), S(5)]], AttributeSet.Of(OpAttribute.IntList("shape", [-1, 15]))),
        ("Flatten", [[N, S(3), S(5), S(2)]], AttributeSet.Of(OpAttribute.Int("start", 1), OpAttribute.Int("end", -1))),
        ("Permute", [[N, S(3), S(5)]], AttributeSet.Of(OpAttribute.IntList("axes", [0, 2, 1]))),
        ("Transpose", [[N, S(3), S(5)]], AttributeSet.Of(OpAttribute.Int("dim0", -1), OpAttribute.Int("dim1", 1))),
        ("Roll", [[N, S(3), S(5)]], AttributeSet.Of(OpAttribute.Int("shift", -2), OpAttribute.IntList("axes", [1, 2]))),
        ("Select", [[N, S(3), S(5)]], AttributeSet.Of(OpAttribute.Int("axis", 1), OpAttribute.Int("index", 2))),
        ("Slice", [[N, S(3), S(7)]], AttributeSet.Of(OpAttribute.Int("axis", 2), OpAttribute.Int("start", 1), OpAttribute.Int("end", -1), OpAttribute.Int("step", 2))),
        ("Expand", [[N, S(1), S(5)]], AttributeSet.Of(OpAttribute.IntList("shape", [2, -1, 3, 5]))),
        ("ExpandAs", [[S(1), S(1), S(5)], [N, S(3), S(5)]], AttributeSet.Empty),
        ("Pad", [[N, S(3), S(5)]], AttributeSet.Of(OpAttribute.IntList("pads", [1, 2, 0, 1]), OpAttribute.Real("value", double.NaN))),
        ("Concat", [[N, S(2), S(5)], [N, S(3), S(5)], [N, S(1), S(5)]], AttributeSet.Of(OpAttribute.Int("axis", 1))),
        ("WindowPartition", [[N, S(6), S(9), S(5)]], AttributeSet.Of(OpAttribute.Int("window", 3))),
        ("WindowReverse", [[CDim.Batch(6), S(9), S(5)]], AttributeSet.Of(OpAttribute.Int("window", 3), OpAttribute.Int("height", 6), OpAttribute.Int("width", 9))),
        ("PatchMerging", [[N, S(4), S(6), S(5)]], AttributeSet.Empty),
        ("Patchify", [[N, S(3), S(6), S(8)]], AttributeSet.Of(OpAttribute.Int("patch", 2))),
        ("Im2col", [[N, S(3), S(7), S(6)]], AttributeSet.Of(OpAttribute.Int("kernel", 3), OpAttribute.Int("stride", 2), OpAttribute.Int("padding", 2), OpAttribute.Int("dilation", 2))),
        ("ConvWindows", [[N, S(4), S(7), S(5)]], AttributeSet.Of(OpAttribute.Int("kernel", 3), OpAttribute.Int("stride", 1), OpAttribute.Int("padding", 1),
            OpAttribute.Int("groups", 2), OpAttribute.Int("outChannels", 6), OpAttribute.Real("value", double.NegativeInfinity))),
        // Eager shapes have no batch: a reduction to a rank-0 result, and a normalization over one element.
        ("Sum", [[S(3), S(5), S(7)]], AttributeSet.Of(OpAttribute.IntList("axes", [0, 1, 2]), OpAttribute.Int("keepDim", 0))),
        ("RmsNorm", [[S(3), S(1)], [S(1)]], AttributeSet.Of(OpAttribute.Real("eps", 1e-6))),
    ];

    /// <summary>Operators that never reach a kernel: Narrow is written as a Slice by the front end.</summary>
    public static readonly IReadOnlyList<string> NotLowered = ["Narrow"];

    /// <summary>Case <paramref name="index"/> lowered; the kernel is named after the operator and the case.</summary>
    public static LoweredGroup Lower(int index)
    {
        var (op, inputs, attributes) = Cases[index];
        var g = new LoweringGraph();
        var ids = inputs.Select((shape, i) => g.Input(i == 0 ? FloatType.Io : FloatType.F16, shape)).ToArray();
        int node = g.Op(Ops.Get(op), ids, attributes, FloatType.Io);
        return g.Lower($"eager_{op.ToLowerInvariant()}_{index}", [node], node);
    }
}
