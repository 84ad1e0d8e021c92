using Fusion.Testing;

namespace Fusion.Runtime.Tests;

/// <summary>Operand checks: wrong shapes and dtypes raise TensorMismatchException naming the operator, operand, expected and actual.</summary>
public class ErrorTests
{
    private static readonly CpuBackend Cpu = CpuBackend.Instance;

    private static void AssertMismatch(Func<Tensor> op, params string[] fragments)
    {
        var e = Assert.Throws<TensorMismatchException>(() => op().Dispose());
        foreach (var f in fragments) Assert.Contains(f, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LinearNamesTheWeight()
    {
        using var x = CpuTensor.Zeros(DType.Float32, 2, 96);
        using var w = CpuTensor.Zeros(DType.Float32, 384, 95);
        AssertMismatch(() => Cpu.Linear(x, w, null), "Linear weight: expected f32[*, 96], got f32[384, 95]");
        using var w16 = CpuTensor.Zeros(DType.Float16, 384, 96);
        AssertMismatch(() => Cpu.Linear(x, w16, null), "Linear weight", "expected f32[*, 96]", "got f16[384, 96]");
        using var good = CpuTensor.Zeros(DType.Float32, 384, 96);
        using var bias = CpuTensor.Zeros(DType.Float32, 383);
        AssertMismatch(() => Cpu.Linear(x, good, bias), "Linear bias: expected f32[384], got f32[383]");
    }

    [Fact]
    public void MatMulNamesB()
    {
        using var a = CpuTensor.Zeros(DType.Float32, 2, 3, 5, 8);
        using var inner = CpuTensor.Zeros(DType.Float32, 2, 3, 7, 4);
        AssertMismatch(() => Cpu.MatMul(a, inner, false), "MatMul b: expected f32[2, 3, 8, *], got f32[2, 3, 7, 4]");
        using var batch = CpuTensor.Zeros(DType.Float32, 3, 3, 4, 8);
        AssertMismatch(() => Cpu.MatMul(a, batch, true), "MatMul b: expected f32[2, 3, *, 8], got f32[3, 3, 4, 8]");
        using var vector = CpuTensor.Zeros(DType.Float32, 8);
        AssertMismatch(() => Cpu.MatMul(a, vector, false), "MatMul b", "got f32[8]");
    }

    [Fact]
    public void AddNamesTheOperandThatDoesNotBroadcast()
    {
        using var a = CpuTensor.Zeros(DType.Float32, 4, 5);
        using var b = CpuTensor.Zeros(DType.Float32, 3, 5);
        AssertMismatch(() => Cpu.Add(a, b), "Add b", "broadcasts with a f32[4, 5]", "got f32[3, 5]");
        using var h = CpuTensor.Zeros(DType.Float16, 4, 5);
        AssertMismatch(() => Cpu.Add(a, h), "Add b: expected f32", "got f16[4, 5]");
    }

    [Fact]
    public void LayoutOperatorsNameTheirProblem()
    {
        using var image = CpuTensor.Zeros(DType.Float32, 1, 14, 15, 4);
        AssertMismatch(() => Cpu.WindowPartition(image, 7), "WindowPartition x", "multiples of the window 7", "got f32[1, 14, 15, 4]");
        AssertMismatch(() => Cpu.PatchMerging(image), "PatchMerging x", "even H and W", "got f32[1, 14, 15, 4]");
        AssertMismatch(() => Cpu.Permute(image, [0, 1, 1, 3]), "Permute axes", "[0, 1, 1, 3]");
        AssertMismatch(() => Cpu.Select(image, 2, 15), "Select index", "[0, 15)");
        AssertMismatch(() => Cpu.Reshape(image, new Shape(7, 7)), "Reshape x", "got f32[1, 14, 15, 4]");
        AssertMismatch(() => Cpu.Mean(image, 3, 2), "Mean x", "axes [3, 5)");
        using var windows = CpuTensor.Zeros(DType.Float32, 3, 49, 4);
        AssertMismatch(() => Cpu.WindowReverse(windows, 7, 14, 14), "WindowReverse x", "multiple of 4 windows", "got f32[3, 49, 4]");
        using var table = CpuTensor.Zeros(DType.Float32, 168, 3);
        AssertMismatch(() => Cpu.RelativePositionBias(table, 7), "RelativePositionBias table: expected f32[169, *], got f32[168, 3]");
    }

    [Fact]
    public void QkvRelayoutNamesItsOperand()
    {
        using var ragged = CpuTensor.Zeros(DType.Float32, 91, 30);
        AssertMismatch(() => Cpu.QkvRelayout(ragged, 5), "QkvRelayout x", "first dim a positive multiple of 15", "got f32[91, 30]");
        using var empty = CpuTensor.Zeros(DType.Float32, 0, 30);
        AssertMismatch(() => Cpu.QkvRelayout(empty, 5), "QkvRelayout x", "got f32[0, 30]");
        using var rank3 = CpuTensor.Zeros(DType.Float16, 90, 3, 10);
        AssertMismatch(() => Cpu.QkvRelayout(rank3, 5), "QkvRelayout x", "f16[3·5·d, K] or [3·5·d]", "got f16[90, 3, 10]");
        using var ints = CpuTensor.Zeros(DType.Int32, 90);
        AssertMismatch(() => Cpu.QkvRelayout(ints, 5), "QkvRelayout x", "f32 or f16", "got i32[90]");
        using var fine = CpuTensor.Zeros(DType.Float32, 90);
        Assert.Throws<ArgumentOutOfRangeException>(() => Cpu.QkvRelayout(fine, 0));
    }

    [Fact]
    public void LayerNormNamesWeightAndBias()
    {
        using var x = CpuTensor.Zeros(DType.Float32, 3, 8);
        using var w = CpuTensor.Zeros(DType.Float32, 8);
        using var wrong = CpuTensor.Zeros(DType.Float32, 9);
        AssertMismatch(() => Cpu.LayerNorm(x, wrong, w, 1e-5f), "LayerNorm weight: expected f32[8], got f32[9]");
        AssertMismatch(() => Cpu.LayerNorm(x, w, wrong, 1e-5f), "LayerNorm bias: expected f32[8], got f32[9]");
    }

    [Fact]
    public void NonFloatOperandsAreRejected()
    {
        using var ints = CpuTensor.Zeros(DType.Int32, 4);
        AssertMismatch(() => Cpu.Relu(ints), "Relu x", "f32 or f16", "got i32[4]");
    }

    [Fact]
    public void DisposedOperandsThrow()
    {
        var x = CpuTensor.Zeros(DType.Float32, 2, 2);
        x.Dispose();
        Assert.Throws<ObjectDisposedException>(() => Cpu.Relu(x));
        Assert.Throws<ObjectDisposedException>(() => x.Span<float>());
        Assert.Throws<ObjectDisposedException>(() => x.ToFloatArray());
    }

    [Fact]
    public void FloatHalfParameterCopyFollowsTheParameterVersion()
    {
        var p = new Parameter(3, 5);
        Assert.Same(p.Value, Cpu.Param(p, DType.Float32));
        var first = TestData.Random(TestData.NewSeed(), 3, 5);
        p.Load(first.Data.Select(v => (float)v).ToArray());
        var h1 = Cpu.Param(p, DType.Float16);
        Assert.Same(h1, Cpu.Param(p, DType.Float16));
        Tolerance.AssertClose(h1, first.RoundedTo(DType.Float16), 0, 0, "f16 parameter copy");

        var second = TestData.Random(TestData.NewSeed(), 3, 5);
        p.Load(second.Data.Select(v => (float)v).ToArray());
        var h2 = Cpu.Param(p, DType.Float16);
        Assert.NotSame(h1, h2);
        Tolerance.AssertClose(h2, second.RoundedTo(DType.Float16), 0, 0, "refreshed f16 parameter copy");
        Assert.Throws<TensorMismatchException>(() => Cpu.Param(p, DType.Int8));
    }
}
