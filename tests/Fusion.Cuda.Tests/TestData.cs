namespace Fusion.Cuda.Tests;

/// <summary>Fresh random inputs and tolerance checks for the CUDA tests.</summary>
internal static class TestData
{
    /// <summary>Uniform values in [lo, hi), rounded to half, so the CPU reference sees exactly what the GPU does.</summary>
    public static Half[] RandomHalves(Random rng, int count, float lo = -1, float hi = 1)
    {
        var a = new Half[count];
        for (int i = 0; i < a.Length; i++) a[i] = (Half)(lo + (hi - lo) * rng.NextSingle());
        return a;
    }

    public static CpuTensor HalfTensor(Half[] data, params int[] dims) => CpuTensor.FromArray(data, dims);

    /// <summary>Asserts |actual − expected| ≤ atol + rtol·|expected| everywhere; names the first offending index.</summary>
    public static void AssertClose(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, double atol, double rtol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < actual.Length; i++)
        {
            double diff = Math.Abs(actual[i] - expected[i]);
            if (!(diff <= atol + rtol * Math.Abs(expected[i])))
                Assert.Fail($"{what}: element {i} is {actual[i]}, expected {expected[i]} (|diff| {diff:G3} > {atol} + {rtol}·|expected|)");
        }
    }

    /// <summary>One fp16 unit in the last place, relative: results rounded once may differ from a double reference by at most this.</summary>
    public const double HalfUlp = 1.0 / 1024;

    /// <summary>Smallest positive subnormal half, the absolute floor of one ulp.</summary>
    public const double HalfTiny = 6e-8;
}
