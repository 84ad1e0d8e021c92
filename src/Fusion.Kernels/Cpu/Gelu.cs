namespace Fusion.Kernels.Cpu;

/// <summary>GELU in its exact erf form, and the erf it needs (.NET has no Math.Erf).</summary>
public static class Gelu
{
    private const double TwoOverSqrtPi = 1.1283791670955126;
    private const double InvSqrtPi = 0.5641895835477563;
    private const double InvSqrt2 = 0.7071067811865476;

    /// <summary>y = x·½·(1 + erf(x/√2)), computed per element in double and rounded once to float.</summary>
    public static unsafe void Apply(ReadOnlySpan<float> x, Span<float> y)
    {
        if (y.Length < x.Length) throw new ArgumentException("output shorter than input", nameof(y));
        fixed (float* px = x, py = y)
        {
            nint xAddr = (nint)px, yAddr = (nint)py;
            // erf costs a few dozen flops per element, so even mid-sized tensors are worth splitting.
            Parallelism.For(x.Length, 64, (start, end) =>
            {
                float* src = (float*)xAddr, dst = (float*)yAddr;
                for (int i = start; i < end; i++)
                {
                    double v = src[i];
                    dst[i] = (float)(v * 0.5 * (1.0 + Erf(v * InvSqrt2)));
                }
            });
        }
    }

    /// <summary>
    /// The error function, accurate well beyond float32 (about 1e-13 absolute): the alternating
    /// Maclaurin series near zero, where it converges quickly, and the continued fraction of
    /// erfc further out, where the series would lose digits to cancellation.
    /// </summary>
    public static double Erf(double x)
    {
        double ax = Math.Abs(x);
        double r;
        if (double.IsNaN(x)) return x;
        if (ax >= 6.0) r = 1.0; // erfc(6) ≈ 2e-17: below double resolution next to 1
        else if (ax < 2.5) r = Maclaurin(ax);
        else r = 1.0 - ErfcContinuedFraction(ax);
        return x < 0 ? -r : r;
    }

    /// <summary>erf(x) = 2/√π · Σ (−1)ⁿ x^(2n+1) / (n!·(2n+1)).</summary>
    private static double Maclaurin(double x)
    {
        double x2 = x * x;
        double power = x; // (−1)ⁿ x^(2n+1) / n!
        double sum = x;
        for (int n = 1; n < 80; n++)
        {
            power *= -x2 / n;
            double term = power / (2 * n + 1);
            sum += term;
            if (Math.Abs(term) < 1e-17 * Math.Abs(sum)) break;
        }
        return TwoOverSqrtPi * sum;
    }

    /// <summary>erfc(x) = e^(−x²)/√π · 1/(x + ½/(x + 1/(x + (3/2)/(x + …)))), evaluated from the bottom up; valid for x ≥ 2.5.</summary>
    private static double ErfcContinuedFraction(double x)
    {
        double f = x;
        for (int n = 60; n >= 1; n--) f = x + n * 0.5 / f;
        return Math.Exp(-x * x) * InvSqrtPi / f;
    }
}
