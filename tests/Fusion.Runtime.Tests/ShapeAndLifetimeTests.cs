using Fusion.Testing;

namespace Fusion.Runtime.Tests;

public class ShapeTests
{
    [Fact]
    public void ScalarShapes_HaveOneElement()
    {
        // A rank-0 shape holds one element, however it was made.
        Assert.Equal(1, new Shape([]).ElementCount);
        Assert.Equal(1, default(Shape).ElementCount);
        Assert.Equal(0, default(Shape).Rank);
        Assert.Equal(new Shape([]), default(Shape));
    }

    [Fact]
    public void NegativeDimensionsAreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => new Shape(2, -1, 3));
        Assert.Contains("[2, -1, 3]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ElementCountOverflowIsRejected()
    {
        Assert.Throws<ArgumentException>(() => new Shape(int.MaxValue, int.MaxValue, int.MaxValue));
        Assert.Equal((long)int.MaxValue * int.MaxValue, new Shape(int.MaxValue, int.MaxValue).ElementCount);
    }

    [Fact]
    public void EqualityIsByValue()
    {
        var a = new Shape(2, 3, 4);
        var b = new Shape([2, 3, 4]);
        Assert.True(a == b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.True(a != new Shape(2, 4, 3));
        Assert.True(a != new Shape(2, 3));
        Assert.Equal(1, new Shape([]).ElementCount);
    }

    [Fact]
    public void ResolveShapeInfersMinusOne()
    {
        var input = new Shape(4, 6, 5);
        Assert.Equal(new Shape(2, 60), F.ResolveShape(input, [2, -1]));
        Assert.Equal(new Shape(120), F.ResolveShape(input, [-1]));
        Assert.Equal(new Shape(4, 6, 5), F.ResolveShape(input, [4, -1, 5]));
        Assert.Throws<TensorMismatchException>(() => F.ResolveShape(input, [-1, -1]));
        Assert.Throws<TensorMismatchException>(() => F.ResolveShape(input, [7, -1]));
        Assert.Throws<TensorMismatchException>(() => F.ResolveShape(input, [0, -1]));
        Assert.Throws<TensorMismatchException>(() => F.ResolveShape(input, [2, -2, 30]));
        Assert.Throws<TensorMismatchException>(() => F.ResolveShape(input, [2, 61]));
    }
}

/// <summary>Runs alone: CpuTensor.LiveCount is process-wide, so parallel tests would disturb it.</summary>
[CollectionDefinition(nameof(LiveCountCollection), DisableParallelization = true)]
public class LiveCountCollection
{
}

[Collection(nameof(LiveCountCollection))]
public class LifetimeTests
{
    private static readonly CpuBackend Cpu = CpuBackend.Instance;

    [Fact]
    public void AnOpSequenceLeavesNoLiveTensors()
    {
        var layer = new Linear(16, 16);
        var norm = new LayerNorm(16);
        // Create (and so cache) the f16 parameter copies first: the backend owns them for good.
        Cpu.Param(layer.weight, DType.Float16);
        Cpu.Param(layer.bias!, DType.Float16);
        Cpu.Param(norm.weight, DType.Float16);
        Cpu.Param(norm.bias, DType.Float16);
        long start = CpuTensor.LiveCount;
        foreach (var dtype in new[] { DType.Float32, DType.Float16 })
        {
            using var x = TestData.Random(TestData.NewSeed(), 2, 4, 4, 16).ToCpu(dtype);
            using var rolled = F.Roll(x, -1, 1, 2);
            using var windows = F.WindowPartition(rolled, 2);
            using var normed = F.LayerNorm(windows, norm);
            using var projected = F.Linear(normed, layer);
            using var scores = F.MatMul(projected, projected, transposeB: true);
            using var attention = F.Softmax(scores);
            using var mixed = F.MatMul(attention, projected);
            using var activated = F.Gelu(mixed);
            using var back = F.WindowReverse(activated, 2, 4, 4);
            using var merged = F.PatchMerging(back);
            using var pooled = F.Mean(merged, 1, 2);
            using var flat = F.Reshape(pooled, -1);
            Assert.True(CpuTensor.LiveCount > start);
        }
        Assert.Equal(start, CpuTensor.LiveCount);
    }

    [Fact]
    public void DisposeIsIdempotent()
    {
        long start = CpuTensor.LiveCount;
        var t = CpuTensor.Zeros(DType.Float32, 3);
        t.Dispose();
        t.Dispose();
        Assert.True(t.IsDisposed);
        Assert.Equal(start, CpuTensor.LiveCount);
    }
}

public class EagerPrecisionTests
{
    [Fact]
    public void EagerAdd_OfF16AndF32_ComputesInF16()
    {
        // The unfused fp16 path adds f32 constants (bias tables, masks) to f16 activations.
        var a = Fusion.Testing.TestData.Random(Fusion.Testing.TestData.NewSeed(), DType.Float16, 3, 5);
        var b = Fusion.Testing.TestData.Random(Fusion.Testing.TestData.NewSeed(), 5);
        using var ah = a.ToCpu(DType.Float16);
        using var bf = b.ToCpu();
        using var sum = F.Add(ah, bf);
        using var reversed = F.Add(bf, ah);
        Assert.Equal(DType.Float16, sum.DType);
        Assert.Equal(((CpuTensor)sum).ToFloatArray(), ((CpuTensor)reversed).ToFloatArray());
        var expected = Fusion.Testing.Ref.Add(a, b.RoundedTo(DType.Float16));
        Fusion.Testing.Tolerance.AssertClose(sum, expected, 1e-3, 1e-3, "f16 + f32");
    }
}
