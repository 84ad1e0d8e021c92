using Fusion.Kernels.Cpu;
using Fusion.Testing;

namespace Fusion.Runtime.Tests.Quantization;

/// <summary>
/// The CPU int8 GEMM is exact: C = A·Bᵀ against a 64-bit sum of the same products, equal to the last bit, on fresh random int8
/// operands over the whole range −128 … 127 (the extremes included), odd sizes (vector bodies and scalar tails), one and all cores.
/// </summary>
public sealed class Int8GemmTests
{
    public static TheoryData<int, int, int> Sizes() => new() { { 1, 1, 1 }, { 3, 5, 7 }, { 7, 13, 33 }, { 33, 17, 129 }, { 5, 3, 1000 }, { 64, 65, 96 } };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void MatchesTheExactSum(int m, int n, int k)
    {
        int seed = TestData.NewSeed();
        var random = new Random(seed);
        sbyte[] a = Random(random, m * k), b = Random(random, n * k);
        a[0] = -128;
        b[^1] = -128;
        if (k > 1) b[1] = 127;
        foreach (int workers in new[] { 1, Environment.ProcessorCount })
        {
            int saved = Parallelism.Workers;
            Parallelism.Workers = workers;
            try
            {
                var c = new int[m * n];
                Int8Gemm.MultiplyTransposed(a, b, c, m, n, k);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++)
                    {
                        long expected = 0;
                        for (int p = 0; p < k; p++) expected += a[i * k + p] * (long)b[j * k + p];
                        Assert.True(expected == c[i * n + j], $"C[{i}, {j}] = {c[i * n + j]}, exact {expected} ({m}×{n}×{k}, {workers} workers, seed {seed})");
                    }
            }
            finally
            {
                Parallelism.Workers = saved;
            }
        }
    }

    [Fact]
    public void TheLongestSumStillFits()
    {
        // MaxDepth products of −128 · −128 = 2¹⁴ each: the largest sum an int32 must hold.
        Assert.True((long)Int8Gemm.MaxDepth * 128 * 128 <= int.MaxValue);
        Assert.True((long)(Int8Gemm.MaxDepth + 1) * 128 * 128 > int.MaxValue);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Int8Gemm.MultiplyTransposed([], [], [], 0, 0, Int8Gemm.MaxDepth + 1));
        Assert.Contains("overflow", e.Message);
    }

    [Fact]
    public void ShortOperandsAreNamed()
    {
        var e = Assert.Throws<ArgumentException>(() => Int8Gemm.MultiplyTransposed(new sbyte[5], new sbyte[6], new int[4], 2, 2, 3));
        Assert.Equal("a", e.ParamName);
        Assert.Throws<ArgumentException>(() => Int8Gemm.Dot(new sbyte[3], new sbyte[4]));
    }

    private static sbyte[] Random(Random random, int count)
    {
        var values = new sbyte[count];
        for (int i = 0; i < count; i++) values[i] = (sbyte)random.Next(-128, 128);
        return values;
    }
}
