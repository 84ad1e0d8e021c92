using ILGPU;
using ILGPU.IR.Intrinsics;
using Half = ILGPU.Half;

namespace Fusion.Ilgpu;

/// <summary>
/// The math of Fusion's generated ILGPU kernels: what <c>generated.cuh</c> and <c>prelude.cuh</c> are to the CUDA C, with the same
/// formulas where CUDA has no exact instruction (tanh, erf, pow), so both kernels of one loop IR agree. ILGPU compiles the
/// <see cref="MathF"/> calls to its PTX intrinsics (ex2/lg2 approximations, sqrt.rn; ILGPU.Algorithms supplies them, which is
/// why the compiler's context enables it); on ILGPU's CPU accelerator they run as .NET's own. The methods marked
/// [IntrinsicImplementation] are portable here and redirected, in the PTX Fusion compiles, to the instructions the CUDA helpers use
/// (Fusion.Runtime's PtxKernelMath): cvt.rn.f16.f32.
/// </summary>
public static class KernelMath
{
    public static float Max(float a, float b) => MathF.Max(a, b);

    public static float Min(float a, float b) => MathF.Min(a, b);

    public static float Abs(float a) => MathF.Abs(a);

    /// <summary>
    /// e^x; on the GPU as the CUDA kernels' fusion_exp computes it, ex2.approx.ftz of x·log2(e) (PtxKernelMath writes the two
    /// instructions on registers; ILGPU's own MathF.Exp is the same without ftz, a few more instructions each).
    /// </summary>
    [IntrinsicImplementation]
    public static float Exp(float x) => MathF.Exp(x);

    /// <summary>
    /// 2^x as the CUDA prelude's fast_exp2 computes it on the GPU: Fusion's PTX compiler writes one ex2.approx.ftz.f32 on registers
    /// (PtxKernelMath); here, for ILGPU's CPU accelerator, .NET's own. A softmax's exponent: −huge gives 0.
    /// </summary>
    [IntrinsicImplementation]
    public static float Exp2(float x) => MathF.Pow(2.0f, x);

    public static float Log(float x) => MathF.Log(x);

    public static float Sqrt(float x) => MathF.Sqrt(x);

    /// <summary>
    /// 1/√x; on the GPU one rsqrt.approx.f32 as the CUDA kernels' fusion_rsqrt (PtxKernelMath). ILGPU would compile this body to
    /// sqrt.rn and rcp.rn, each a subroutine with a slow path in SASS: 10 more registers and 1.5× the time of a LayerNorm kernel.
    /// </summary>
    [IntrinsicImplementation]
    public static float Rsqrt(float x) => 1.0f / MathF.Sqrt(x);

    /// <summary>tanh: its Taylor series near 0 (absolute error below 3e-8 for |x| &lt; 0.55), else 1 − 2/(e^{2|x|} + 1) with the sign.</summary>
    public static float Tanh(float x)
    {
        float a = MathF.Abs(x);
        if (a < 0.55f)
        {
            float s = x * x;
            return x * (1.0f + s * (-0.33333333333f + s * (0.13333333333f + s * (-0.053968253968f + s * (0.021869488536f
                + s * (-0.0088632355299f + s * (0.0035921280366f + s * -0.0014558343870f)))))));
        }
        float r = 1.0f - 2.0f / (Exp(2.0f * a) + 1.0f);
        return x < 0.0f ? -r : r;
    }

    /// <summary>
    /// 1/x for x ≥ 1: on the GPU one rcp.approx.ftz.f32 (about 1 ulp), as the CUDA prelude's fast_rcp (PtxKernelMath); the IEEE
    /// division would add a range check and a call to a slow path, whose registers cost the GELU kernels occupancy.
    /// </summary>
    [IntrinsicImplementation]
    public static float FastRecip(float x) => 1.0f / x;

    /// <summary>erf by Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7), as the CUDA kernels compute it.</summary>
    public static float Erf(float x)
    {
        float ax = x < 0.0f ? -x : x;
        float y = 1.0f - ErfPolynomial(FastRecip(1.0f + 0.3275911f * ax)) * Exp(-ax * ax);
        return x < 0.0f ? -y : y;
    }

    /// <summary>Abramowitz and Stegun 7.1.26's polynomial in t = 1 / (1 + p·|x|), erf(|x|) = 1 − poly·e^(−x²): Erf's and Gelu's.</summary>
    private static float ErfPolynomial(float t) =>
        ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;

    /// <summary>
    /// GELU by erf, x·½·(1 + erf(x/√2)) with erf's constants taking the 1/√2, as the CUDA kernels' fusion_gelu_erf (the loop
    /// IR's one Gelu operation).
    /// </summary>
    public static float Gelu(float x)
    {
        float ax = Abs(x);
        float e = 1.0f - ErfPolynomial(FastRecip(1.0f + 0.23164189f * ax)) * Exp2(ax * ax * -0.72134752f); // e^(−x²/2) = 2^(−x²·log2(e)/2)
        return (0.5f * x) * (1.0f + (x < 0.0f ? -e : e)); // x ≪ 0 gives −0, as the chain did
    }

    /// <summary>
    /// GELU in its tanh form as x·σ(2u), u = x·(√(2/π) + 0.044715·√(2/π)·x²): one exp2 and one reciprocal, as the CUDA kernels'
    /// fusion_gelu_tanh_sigmoid (the loop IR's GeluTanh operation); x ≪ 0 gives −0.
    /// </summary>
    public static float GeluTanh(float x)
    {
        float t = x * (x * x * Fusion.Kernels.Cpu.VectorMath.GeluTanhCubic + Fusion.Kernels.Cpu.VectorMath.GeluTanhLinear); // −2u·log2(e): e^(−2u) = 2^t
        return x * FastRecip(1.0f + Exp2(t));
    }

    /// <summary>
    /// x rounded to fp16 (to nearest, ties to even) as ILGPU's half. The value is rounded first, so the conversion is exact on
    /// ILGPU's CPU accelerator too (its software conversion does not round to nearest); Fusion's PTX compiler redirects this
    /// method to one cvt.rn.f16.f32 (IlgpuPtxCompiler), which leaves ptxas no dead branches to discard.
    /// </summary>
    [IntrinsicImplementation] // Fusion's PTX compiler redirects it to the GPU's instruction (PtxKernelMath)
    public static Half ToHalf(float x) => (Half)RoundToHalfPrecision(x);

    /// <summary>
    /// a where c holds, else b: a call, so both are evaluated first and ILGPU emits one selp (the generated kernels' guarded
    /// loads read a safe address and select, rather than branch around the load).
    /// </summary>
    public static float Select(bool c, float a, float b) => c ? a : b;

    /// <summary>a where c holds, else b (an index: the generated kernels' guarded loads read element b where c fails).</summary>
    public static int Select(bool c, int a, int b) => c ? a : b;

    /// <summary>a where c holds, else b (a 64-bit index: the flash attention's guarded tile loads, its operands being strided views).</summary>
    public static long Select(bool c, long a, long b) => c ? a : b;

    /// <summary>The half in the low 16 bits of a packed pair (the lower address), as a float.</summary>
    public static float Low(uint pair) => (float)Interop.IntAsFloat((ushort)pair);

    /// <summary>The half in the high 16 bits of a packed pair, as a float.</summary>
    public static float High(uint pair) => (float)Interop.IntAsFloat((ushort)(pair >> 16));

    /// <summary>x and y rounded to fp16 and packed into one word, x in the low 16 bits (on the GPU one cvt.rn.f16x2.f32, PtxKernelMath).</summary>
    [IntrinsicImplementation] // Fusion's PTX compiler redirects it to the GPU's instruction (PtxKernelMath)
    public static uint Pack(float x, float y) => Interop.FloatAsInt(ToHalf(x)) | ((uint)Interop.FloatAsInt(ToHalf(y)) << 16);

    /// <summary>
    /// The int8 code of x (a cast to i8 inside a kernel): clamped to ±127, then rounded half to even by adding and subtracting
    /// 1.5·2²³ (float32 addition rounds to nearest even at that magnitude: exact for |x| ≤ 127); NaN gives 0, as the CUDA C's
    /// fusion_round_i8 and the CPU's.
    /// </summary>
    public static float RoundI8(float x)
    {
        float clamped = x < -127f ? -127f : x > 127f ? 127f : x;
        float rounded = (clamped + 12582912f) - 12582912f;
        return float.IsNaN(x) ? 0f : rounded;
    }

    /// <summary>
    /// The FP8 E4M3 code of x in the low byte (the high byte 0): nearest even, saturated to ±448 (infinities too), NaN to 0x7F, as
    /// the CUDA C's fusion_pack_e4m3x2 and the CPU's Float8E4M3.Encode. On the GPU one cvt.rn.satfinite.e4m3x2.f32 (PtxKernelMath);
    /// here the rounding on x's bits: keep 3 of the 23 mantissa bits, or round |x|·2⁹ to an integer below 2⁻⁶ (subnormals).
    /// </summary>
    [IntrinsicImplementation] // Fusion's PTX compiler writes the GPU's instruction (PtxKernelMath)
    public static ushort EncodeF8(float x)
    {
        if (float.IsNaN(x)) return 0x7F;
        uint bits = Interop.FloatAsInt(x);
        uint sign = (bits >> 24) & 0x80u;
        float magnitude = Interop.IntAsFloat(bits & 0x7FFFFFFFu);
        if (magnitude > 448f) magnitude = 448f;
        if (magnitude < 0.015625f)
        {
            // 2⁻⁹ steps: |x|·2⁹ < 8 is exact, and adding 2²³ rounds it to an integer, ties to even (8 is the normal 2⁻⁶, code 0x08).
            float steps = (magnitude * 512f + 8388608f) - 8388608f;
            return (ushort)(sign | (uint)steps);
        }
        uint m = Interop.FloatAsInt(magnitude);
        m += 0x7FFFFu + ((m >> 20) & 1u); // round at bit 20 to nearest even; a carry moves into the exponent
        uint exponent = (m >> 23) - 127u + 7u;
        return (ushort)(sign | (exponent << 3) | ((m >> 20) & 7u));
    }

    /// <summary>
    /// The value of the FP8 E4M3 code in the low byte of <paramref name="code"/> (exact in float32; S.1111.111 is NaN). On the GPU one
    /// cvt.rn.f16x2.e4m3x2 and a cvt.f32.f16 (PtxKernelMath), as the CUDA C's fusion_unpack_e4m3x2.
    /// </summary>
    [IntrinsicImplementation] // Fusion's PTX compiler writes the GPU's instructions (PtxKernelMath)
    public static float DecodeF8(ushort code)
    {
        uint c = code & 0xFFu, exponent = (c >> 3) & 0xFu, mantissa = c & 7u;
        float magnitude = exponent == 0xFu && mantissa == 7u ? float.NaN
            : exponent == 0u ? mantissa * 0.001953125f // subnormal: a multiple of 2⁻⁹
            : Interop.IntAsFloat(((exponent - 7u + 127u) << 23) | (mantissa << 20));
        return (c & 0x80u) != 0 ? -magnitude : magnitude;
    }

    /// <summary>x rounded to the nearest FP8 E4M3 value and back (a cast to f8 inside a kernel), as the CUDA C's fusion_round_e4m3.</summary>
    public static float RoundF8(float x) => DecodeF8(EncodeF8(x));

    /// <summary>x rounded to the nearest fp16 value and back (a cast to f16 inside a kernel).</summary>
    [IntrinsicImplementation] // Fusion's PTX compiler redirects it to the GPU's instruction (PtxKernelMath)
    public static float RoundF16(float x) => (float)ToHalf(x);

    /// <summary>The fp16 value nearest to x (ties to even), as a float: ±∞ beyond 65520, multiples of 2⁻²⁴ below 2⁻¹⁴.</summary>
    public static float RoundToHalfPrecision(float x)
    {
        uint bits = Interop.FloatAsInt(x);
        uint sign = bits & 0x80000000u, magnitude = bits & 0x7FFFFFFFu;
        if (magnitude > 0x7F800000u) return x; // NaN
        if (magnitude >= 0x477FF000u) return Interop.IntAsFloat(sign | 0x7F800000u); // rounds past 65504
        if (magnitude < 0x38800000u)
        {
            // Below 2⁻¹⁴ fp16 is subnormal, a multiple of 2⁻²⁴: round |x|·2²⁴ to an integer with the 2²³ trick (float adds round to even).
            float scaled = Interop.IntAsFloat(magnitude) * 16777216.0f;
            float rounded = (scaled + 8388608.0f) - 8388608.0f;
            return Interop.IntAsFloat(sign | Interop.FloatAsInt(rounded * 5.9604644775390625e-8f));
        }
        // Normal: keep 10 of the 23 mantissa bits, rounding at bit 13 to nearest even.
        magnitude += 0xFFFu + ((magnitude >> 13) & 1u);
        return Interop.IntAsFloat(sign | (magnitude & ~0x1FFFu));
    }

    /// <summary>x^y through exp2/log2; exact powers of a negative base for integer y, NaN for a negative base and another y (like powf).</summary>
    public static float Pow(float x, float y)
    {
        float r = Exp(y * Log(MathF.Abs(x)));
        if (x >= 0.0f) return r;
        if (MathF.Floor(y) != y) return float.NaN;
        float half = y * 0.5f;
        return MathF.Floor(half) == half ? r : -r;
    }
}
