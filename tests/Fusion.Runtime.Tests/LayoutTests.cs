using Fusion.Testing;

namespace Fusion.Runtime.Tests;

/// <summary>Data-movement operators: exact equality with the reference in both dtypes.</summary>
public class LayoutTests
{
    private static readonly CpuBackend Cpu = CpuBackend.Instance;

    public static TheoryData<DType> DTypes => new() { DType.Float32, DType.Float16 };

    [Theory]
    [MemberData(nameof(DTypes))]
    public void ReshapeKeepsElementsAndResolvesMinusOne(DType dtype)
    {
        var x = Precision.Input(TestData.NewSeed(), dtype, 4, 6, 5);
        Precision.CheckExact(dtype, Ref.Reshape(x, 2, -1, 3), "Reshape", t => F.Reshape(t[0], 2, -1, 3), x);
    }

    [Fact]
    public void ReshapeIsAViewThatOutlivesItsSource()
    {
        var x = TestData.Random(TestData.NewSeed(), 3, 4);
        var source = x.ToCpu();
        using var view = Cpu.Reshape(source, new Shape(12));
        source.Dispose();
        Tolerance.AssertClose(view, Ref.Reshape(x, 12), 0, 0, "view after its source was disposed");
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void PermuteMatchesReference(DType dtype)
    {
        var x = Precision.Input(TestData.NewSeed(), dtype, 2, 3, 4, 5, 6);
        foreach (var axes in new[] { new[] { 0, 1, 2, 3, 4 }, [4, 3, 2, 1, 0], [0, 2, 1, 3, 4], [1, 3, 0, 4, 2], [0, 1, 2, 4, 3] })
            Precision.CheckExact(dtype, Ref.Permute(x, axes), $"Permute [{string.Join(",", axes)}]", t => Cpu.Permute(t[0], axes), x);
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void SelectMatchesReference(DType dtype)
    {
        var x = Precision.Input(TestData.NewSeed(), dtype, 3, 4, 5);
        for (int axis = 0; axis < 3; axis++)
        {
            int a = axis, index = x.Shape[axis] - 1;
            Precision.CheckExact(dtype, Ref.Select(x, a, index), $"Select axis {a}", t => Cpu.Select(t[0], a, index), x);
        }
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void RollMatchesReference(DType dtype)
    {
        var x = Precision.Input(TestData.NewSeed(), dtype, 2, 7, 9, 3);
        foreach (int shift in new[] { -3, 3, 0, 10, -16 })
        {
            int s = shift;
            Precision.CheckExact(dtype, Ref.Roll(x, s, 1, 2), $"Roll {s} on (1, 2)", t => Cpu.Roll(t[0], s, [1, 2]), x);
            Precision.CheckExact(dtype, Ref.Roll(x, s, 3), $"Roll {s} on the last axis", t => Cpu.Roll(t[0], s, [3]), x);
        }
    }

    [Theory]
    [InlineData(DType.Float32, 7, 14, 21, 5)]
    [InlineData(DType.Float32, 3, 6, 3, 1)]
    [InlineData(DType.Float16, 7, 14, 14, 3)]
    public void WindowPartitionAndReverseMatchReference(DType dtype, int window, int height, int width, int channels)
    {
        var x = Precision.Input(TestData.NewSeed(), dtype, 2, height, width, channels);
        var windows = Ref.WindowPartition(x, window);
        Precision.CheckExact(dtype, windows, "WindowPartition", t => Cpu.WindowPartition(t[0], window), x);
        Precision.CheckExact(dtype, Ref.WindowReverse(windows, window, height, width), "WindowReverse", t => Cpu.WindowReverse(t[0], window, height, width), windows);
        // The pair is an identity, checked against the input itself rather than the reference.
        Precision.CheckExact(dtype, x, "WindowReverse ∘ WindowPartition", t =>
        {
            using var w = Cpu.WindowPartition(t[0], window);
            return Cpu.WindowReverse(w, window, height, width);
        }, x);
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void PatchMergingMatchesReference(DType dtype)
    {
        var x = Precision.Input(TestData.NewSeed(), dtype, 2, 6, 10, 7);
        Precision.CheckExact(dtype, Ref.PatchMerging(x), "PatchMerging", t => Cpu.PatchMerging(t[0]), x);
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void PatchifyMatchesReference(DType dtype)
    {
        var x = Precision.Input(TestData.NewSeed(), dtype, 2, 3, 12, 8);
        Precision.CheckExact(dtype, Ref.Patchify(x, 4), "Patchify", t => Cpu.Patchify(t[0], 4), x);
    }

    [Fact]
    public void PatchConvEqualsTheConvolutionSum()
    {
        // F.PatchConv (Patchify + Linear) against a convolution computed directly from its definition.
        int seed = TestData.NewSeed();
        var layer = new PatchConv(3, 5, 4);
        var w = TestData.Random(seed, 5, 3, 4, 4);
        var b = TestData.Random(seed + 1, 5);
        layer.weight.Load(w.Data.Select(v => (float)v).ToArray());
        layer.bias.Load(b.Data.Select(v => (float)v).ToArray());
        var x = TestData.Random(seed + 2, 2, 3, 8, 12);
        var expected = RefTensor.Derived([2, 2, 3, 5], x);
        foreach (var i in RefTensor.Indices([2, 2, 3, 5]))
        {
            double sum = b[i[3]];
            foreach (var k in RefTensor.Indices([3, 4, 4]))
                sum += w[i[3], k[0], k[1], k[2]] * x[i[0], k[0], i[1] * 4 + k[1], i[2] * 4 + k[2]];
            expected[i] = sum;
        }
        Precision.Check(DType.Float32, expected, 1e-5, 1e-5, "F.PatchConv", t => F.PatchConv(t[0], layer), x);
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void RelativePositionBiasMatchesReference(DType dtype)
    {
        foreach (int window in new[] { 1, 3, 7 })
        {
            var table = Precision.Input(TestData.NewSeed(), dtype, (2 * window - 1) * (2 * window - 1), 5);
            Precision.CheckExact(dtype, Ref.RelativePositionBias(table, window), $"RelativePositionBias w={window}", t => Cpu.RelativePositionBias(t[0], window), table);
        }
    }

    /// <summary>Weights and biases of qkv projections: Swin-T stage 1 (3 heads of 32 over K 96), odd sizes, one head, d 1.</summary>
    [Theory]
    [InlineData(DType.Float32, 3, 32, 96)]
    [InlineData(DType.Float16, 3, 32, 96)]
    [InlineData(DType.Float32, 5, 6, 30)]
    [InlineData(DType.Float16, 5, 6, 7)]
    [InlineData(DType.Float32, 1, 4, 3)]
    [InlineData(DType.Float32, 4, 1, 5)]
    public void QkvRelayoutMatchesReference(DType dtype, int heads, int headDim, int k)
    {
        int seed = TestData.NewSeed();
        var weight = Precision.Input(seed, dtype, 3 * heads * headDim, k);
        var bias = Precision.Input(seed + 1, dtype, 3 * heads * headDim);
        Precision.CheckExact(dtype, Ref.QkvRelayout(weight, heads), $"QkvRelayout weight {heads}×{headDim}", t => Cpu.QkvRelayout(t[0], heads), weight);
        Precision.CheckExact(dtype, Ref.QkvRelayout(bias, heads), $"QkvRelayout bias {heads}×{headDim}", t => Cpu.QkvRelayout(t[0], heads), bias);
    }

    /// <summary>The index map spelled out once: head h's q, k, v rows become rows 3h·d … 3h·d + 3d − 1.</summary>
    [Fact]
    public void QkvRelayoutPutsEachHeadsQkvTogether()
    {
        // 2 heads of d 2: rows q0 q0 q1 q1 k0 k0 k1 k1 v0 v0 v1 v1 (value = original row index).
        using var bias = CpuTensor.FromArray([0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 12);
        using var relaid = (CpuTensor)Cpu.QkvRelayout(bias, 2);
        Assert.Equal([0f, 1, 4, 5, 8, 9, 2, 3, 6, 7, 10, 11], relaid.ToFloatArray());
        Assert.Equal(bias.Shape, relaid.Shape);
    }

    [Theory]
    [InlineData(DType.Float32, 14, 21, 7, 3)]
    [InlineData(DType.Float32, 12, 12, 4, 2)]
    [InlineData(DType.Float32, 7, 7, 7, 3)]
    [InlineData(DType.Float16, 8, 12, 4, 1)]
    [InlineData(DType.Float32, 14, 14, 7, 0)]
    public void ShiftedWindowMaskMatchesReference(DType dtype, int height, int width, int window, int shift)
    {
        using var mask = Cpu.ShiftedWindowMask(height, width, window, shift, dtype);
        Assert.Equal(dtype, mask.DType);
        Tolerance.AssertClose(mask, Ref.ShiftedWindowMask(height, width, window, shift), 0, 0, $"mask {height}×{width} w={window} s={shift}");
    }

    [Fact]
    public void ShiftZeroMaskIsAllZeros()
    {
        using var mask = (CpuTensor)Cpu.ShiftedWindowMask(14, 14, 7, 0, DType.Float32);
        Assert.All(mask.ToFloatArray(), v => Assert.Equal(0f, v));
    }
}
