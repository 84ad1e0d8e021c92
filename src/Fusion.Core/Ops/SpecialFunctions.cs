using System;

namespace Fusion.Compiler
{
    /// <summary>Float64 special functions the references need (.NET has no erf).</summary>
    internal static class SpecialFunctions
    {
        /// <summary>The int8 code of x: rounded half to even, clamped to [−127, 127]; NaN gives 0 (as the kernels' int8 stores).</summary>
        public static double RoundToInt8(double x) => double.IsNaN(x) ? 0 : Math.Max(-127, Math.Min(127, Math.Round(x, MidpointRounding.ToEven)));

        /// <summary>
        /// <paramref name="x"/> rounded to the nearest FP8 E4M3 value (ties to even; 3 mantissa bits, subnormals in steps of 2⁻⁹ below
        /// 2⁻⁶), saturated to ±448; NaN stays NaN (as cvt.rn.satfinite.e4m3x2.f32, the Fp8 plan's stores).
        /// </summary>
        public static double RoundToE4M3(double x)
        {
            if (double.IsNaN(x)) return x;
            double magnitude = Math.Min(Math.Abs(x), 448.0);
            const double smallestNormal = 1.0 / 64, subnormalStep = 1.0 / 512;
            // The spacing of E4M3 values near the magnitude: 2^(e − 3) for binary exponent e, 2⁻⁹ among the subnormals.
            int exponent = (int)((BitConverter.DoubleToInt64Bits(magnitude) >> 52) & 0x7FF) - 1023;
            double step = magnitude < smallestNormal ? subnormalStep : BitConverter.Int64BitsToDouble((long)(exponent - 3 + 1023) << 52);
            double rounded = Math.Min(Math.Round(magnitude / step, MidpointRounding.ToEven) * step, 448.0);
            return x < 0 || (x == 0 && double.IsNegativeInfinity(1 / x)) ? -rounded : rounded;
        }

        /// <summary>
        /// <paramref name="x"/> rounded to the nearest IEEE binary16 value (ties to even), as a double: 11 significant bits, subnormals
        /// below 2^−14, infinity beyond 65504 (netstandard2.0 has no System.Half).
        /// </summary>
        public static double RoundToHalf(double x)
        {
            if (double.IsNaN(x) || double.IsInfinity(x) || x == 0) return x;
            double a = Math.Abs(x);
            if (a >= 65520) return x < 0 ? double.NegativeInfinity : double.PositiveInfinity; // past the largest half + half an ulp
            int exponent = Math.Max((int)Math.Floor(Math.Log(a, 2)), -14);
            if (Math.Pow(2, exponent) > a) exponent--; // Log's rounding at exact powers of two
            double ulp = Math.Pow(2, Math.Max(exponent, -14) - 10);
            double q = a / ulp, floor = Math.Floor(q), rest = q - floor;
            double rounded = rest > 0.5 || (rest == 0.5 && floor % 2 == 1) ? floor + 1 : floor;
            return Math.Sign(x) * rounded * ulp;
        }

        /// <summary>erf to about 1e-14: its Maclaurin series below 3, Lentz's continued fraction of erfc above.</summary>
        public static double Erf(double x)
        {
            if (double.IsNaN(x)) return x;
            double z = Math.Abs(x);
            double r;
            if (z < 3)
            {
                double term = z, sum = z, z2 = z * z;
                for (int n = 1; n < 200 && Math.Abs(term) > 1e-17 * Math.Abs(sum); n++)
                {
                    term *= -z2 / n;
                    sum += term / (2 * n + 1);
                }
                r = 2 / Math.Sqrt(Math.PI) * sum;
            }
            else
            {
                // erfc(z) = e^(−z²)/√π · 1/(z + 1/2/(z + 1/(z + 3/2/(z + …)))), evaluated from the tail.
                double f = z;
                for (int k = 60; k >= 1; k--) f = z + k / 2.0 / f;
                r = 1 - Math.Exp(-z * z) / Math.Sqrt(Math.PI) / f;
            }
            return x < 0 ? -r : r;
        }
    }
}
