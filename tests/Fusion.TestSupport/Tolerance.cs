using Fusion;
using Xunit;

namespace Fusion.Testing;

/// <summary>Elementwise closeness checks of results against a float64 reference.</summary>
public static class Tolerance
{
    /// <summary>
    /// Asserts |a − b| ≤ atol + rtol·|b| for every element (a actual, b expected), equal shapes, and no
    /// NaN or infinity on either side. A failure names the worst element (largest excess over its
    /// bound), both values, and the seed of the inputs.
    /// </summary>
    public static void AssertClose(RefTensor actual, RefTensor expected, double atol, double rtol, string what)
    {
        string seed = (expected.Seed ?? actual.Seed)?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown";
        if (!actual.Shape.SequenceEqual(expected.Shape))
            Assert.Fail($"{what}: shape [{string.Join(", ", actual.Shape)}], expected [{string.Join(", ", expected.Shape)}] (seed {seed})");
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < actual.Count; i++)
        {
            double a = actual.Data[i], b = expected.Data[i];
            if (!double.IsFinite(a) || !double.IsFinite(b))
                Assert.Fail($"{what}: non-finite value at {Where(expected.Shape, i)}: actual {a}, expected {b} (seed {seed})");
            double excess = Math.Abs(a - b) - (atol + rtol * Math.Abs(b));
            if (excess > worstExcess)
            {
                worstExcess = excess;
                worst = i;
            }
        }
        if (worst >= 0)
        {
            double a = actual.Data[worst], b = expected.Data[worst];
            Assert.Fail(
                $"{what}: |actual − expected| > {atol:G3} + {rtol:G3}·|expected| at {Where(expected.Shape, worst)}: " +
                $"actual {a:R}, expected {b:R}, difference {Math.Abs(a - b):G4} (seed {seed}, relative L2 {RelativeL2(actual, expected):G3})");
        }
    }

    public static void AssertClose(Tensor actual, RefTensor expected, double atol, double rtol, string what) =>
        AssertClose(RefTensor.FromCpu((CpuTensor)actual), expected, atol, rtol, what);

    /// <summary>The spacing of float32 values just above |v| (float.Epsilon at 0): one ulp, for bounds stated in ulps.</summary>
    public static double Ulp(float v) => MathF.BitIncrement(Math.Abs(v)) - Math.Abs(v);

    /// <summary>‖actual − expected‖₂ / ‖expected‖₂ (the absolute norm when expected is all zeros).</summary>
    public static double RelativeL2(RefTensor actual, RefTensor expected)
    {
        if (actual.Count != expected.Count) throw new ArgumentException("RelativeL2 needs tensors of equal size");
        double diff = 0, norm = 0;
        for (int i = 0; i < actual.Count; i++)
        {
            double d = actual.Data[i] - expected.Data[i];
            diff += d * d;
            norm += expected.Data[i] * expected.Data[i];
        }
        return norm == 0 ? Math.Sqrt(diff) : Math.Sqrt(diff / norm);
    }

    public static double RelativeL2(Tensor actual, RefTensor expected) => RelativeL2(RefTensor.FromCpu((CpuTensor)actual), expected);

    private static string Where(int[] shape, int offset)
    {
        var index = new int[shape.Length];
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            index[i] = offset % shape[i];
            offset /= shape[i];
        }
        return $"[{string.Join(", ", index)}]";
    }
}
