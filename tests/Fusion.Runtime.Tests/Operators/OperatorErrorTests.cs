namespace Fusion.Runtime.Tests.Operators;

/// <summary>Operands that do not fit: each call fails before computing anything, with an exception naming the operator and the problem.</summary>
public class OperatorErrorTests
{
    public static TheoryData<string, string[]> ShapeErrors => new()
    {
        // name of the case, then words the message must contain (operator first)
        { "add", ["Add"] },
        { "sub", ["Sub", "[3, 4]", "[5]"] },
        { "mul", ["Mul", "broadcast"] },
        { "div", ["Div", "broadcast"] },
        { "where", ["Where", "broadcast"] },
        { "masked_fill", ["MaskedFill", "broadcast"] },
        { "concat_other_axis", ["Concat", "axis 2"] },
        { "concat_rank", ["Concat", "axes"] },
        { "concat_axis", ["Concat", "axis 3"] },
        { "softmax_axis", ["Softmax", "axis 5"] },
        { "sum_axis", ["Sum", "[7]"] },
        { "mean_twice", ["Mean", "twice"] },
        { "slice_step", ["Slice", "step"] },
        { "slice_empty", ["Slice", "nothing"] },
        { "pad_negative", ["Pad", "negative"] },
        { "pad_too_many", ["Pad", "pairs"] },
        { "expand", ["Expand", "cannot become 6"] },
        { "expand_as", ["ExpandAs", "neither 1 nor"] },
        { "transpose", ["Transpose", "outside"] },
        { "flatten", ["Flatten", "range"] },
        { "reshape", ["reshape"] },
        { "rms_norm", ["RmsNorm", "weight"] },
    };

    [Theory]
    [MemberData(nameof(ShapeErrors))]
    public void MismatchedShapesNameTheOperator(string name, string[] words)
    {
        using var a = CpuTensor.Zeros(DType.Float32, 3, 4);
        using var b = CpuTensor.Zeros(DType.Float32, 5);
        using var c = CpuTensor.Zeros(DType.Float32, 3, 5, 7);
        using var d = CpuTensor.Zeros(DType.Float32, 3, 5, 6);
        Action call = name switch
        {
            "add" => () => F.Add(a, b),
            "sub" => () => F.Sub(a, b),
            "mul" => () => F.Mul(a, b),
            "div" => () => F.Div(a, b),
            "where" => () => F.Where(a, a, b),
            "masked_fill" => () => F.MaskedFill(a, b, 0f),
            "concat_other_axis" => () => F.Concat(1, c, d),
            "concat_rank" => () => F.Concat(0, c, a),
            "concat_axis" => () => F.Concat(3, c, c),
            "softmax_axis" => () => F.Softmax(c, 5),
            "sum_axis" => () => F.Sum(c, 7),
            "mean_twice" => () => F.Mean(c, [1, -2], keepDim: false),
            "slice_step" => () => F.Slice(c, 1, 0, 5, 0),
            "slice_empty" => () => F.Slice(c, 1, 4, 2),
            "pad_negative" => () => F.Pad(c, [1, -1]),
            "pad_too_many" => () => F.Pad(a, [1, 1, 1, 1, 1, 1]),
            "expand" => () => F.Expand(c, 3, 6, 7),
            "expand_as" => () => F.ExpandAs(d, c),
            "transpose" => () => F.Transpose(c, 0, 3),
            "flatten" => () => F.Flatten(c, 2, 1),
            "reshape" => () => F.Reshape(c, 4, -1),
            "rms_norm" => () => F.RmsNorm(c, new RmsNorm(6)),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
        var e = Assert.Throws<TensorMismatchException>(call);
        foreach (var word in words) Assert.Contains(word, e.Message);
    }

    [Fact]
    public void MixedFloatTypesNameTheOperands()
    {
        using var f32 = CpuTensor.Zeros(DType.Float32, 3, 5);
        using var f16 = CpuTensor.Zeros(DType.Float16, 3, 5);
        var e = Assert.Throws<TensorMismatchException>(() => F.Sub(f32, f16));
        Assert.Contains("Sub operands", e.Message);
        e = Assert.Throws<TensorMismatchException>(() => F.Concat(0, f16, f32));
        Assert.Contains("Concat operands", e.Message);
    }

    [Fact]
    public void IntegerTensorsAreRejected()
    {
        using var ints = CpuTensor.Zeros(DType.Int32, 3, 5);
        var e = Assert.Throws<TensorMismatchException>(() => F.Exp(ints));
        Assert.Contains("Exp", e.Message);
        Assert.Contains("float", e.Message);
    }

    [Fact]
    public void ReductionsNeedAnAxis()
    {
        using var x = CpuTensor.Zeros(DType.Float32, 3, 5);
        Assert.Contains("Sum", Assert.Throws<ArgumentException>(() => F.Sum(x)).Message);
        Assert.Contains("Max", Assert.Throws<ArgumentException>(() => F.Max(x)).Message);
        Assert.Contains("Mean", Assert.Throws<ArgumentException>(() => F.Mean(x)).Message);
    }

    [Fact]
    public void NarrowPastTheEndIsAnError()
    {
        // torch.narrow(x, 1, 3, 4) on a size-5 axis raises ("start + length exceeds dimension size"); F.Narrow documents
        // "length elements from start, like torch.narrow", so returning 2 elements instead would silently change shapes.
        using var x = CpuTensor.Zeros(DType.Float32, 3, 5, 7);
        var e = Assert.ThrowsAny<FusionException>(() => F.Narrow(x, 1, 3, 4));
        Assert.Contains("Narrow", e.Message);
    }
}
