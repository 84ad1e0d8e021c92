using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Fusion.Kernels.Cpu;

/// <summary>
/// Float32 functions over spans, in the CPU's vectors (<see cref="Vector{T}"/>), for what System.Numerics.Tensors lacks.
/// The CPU twins of generated kernels evaluate a whole row of an instruction at once through these.
/// </summary>
public static class VectorMath
{
    /// <summary>Below this |x|, erf(x) = x·(2/√π + x²·Q(x²)); from it on, 1 − e^(−x²)·G(1/|x|).</summary>
    private const float SeriesLimit = 1f;

    /// <summary>From here on erf(x) rounds to ±1 in float32 (erfc(4) ≈ 1.5e-8, under half an ulp of 1).</summary>
    private const float One = 4f;

    /// <summary>2/√π split into a float32 head and the rest, so x·2/√π keeps its last bit.</summary>
    private const float TwoOverSqrtPiHigh = 1.128379225730896f, TwoOverSqrtPiLow = -5.8635382771399236e-08f;

    /// <summary>
    /// Q(u) ≈ (erf(√u)/√u − 2/√π)/u on [0, 1] and G(t) ≈ erfc(1/t)·e^(1/t²) on [1/4, 1]: Chebyshev interpolants (degree 5
    /// and 7) fitted for this file in 40-digit arithmetic and rounded to float32, lowest power first.
    /// </summary>
    private static readonly float[] s_q = [-0.37612637877464294f, 0.1128375381231308f, -0.026861699298024178f, 0.0052045788615942f,
        -0.0008161986479535699f, 8.3797553088516e-05f];

    private static readonly float[] s_g = [0.000381532299797982f, 0.557292640209198f, 0.05359949544072151f, -0.5138991475105286f,
        0.5898971557617188f, -0.3685625493526459f, 0.12847945094108582f, -0.019605029374361038f];

    /// <summary>
    /// y = erf(x) in float32 lanes: x·(2/√π + x²·Q(x²)) below |x| = 1, 1 − e^(−x²)·G(1/|x|) with x's sign from there to 4, ±1
    /// beyond. Within 1e-7 of the float64 reference everywhere (ElementwiseTests; the fit alone, in exact float32 steps,
    /// stays within 6.6e-8).
    /// </summary>
    public static void Erf(ReadOnlySpan<float> x, Span<float> y) => Map<ErfLanes>(x, y);

    /// <summary>y = GELU(x), erf form, lane by lane as <see cref="Gelu(Vector{float})"/> (the loop IR's one GELU operation).</summary>
    public static void Gelu(ReadOnlySpan<float> x, Span<float> y) => Map<GeluLanes>(x, y);

    /// <summary>
    /// y = GELU(x), tanh form, as the GPU computes the loop IR's GeluTanh: t = x·(a·x² + b) = −2u·log2(e) with u = √(2/π)·(x +
    /// 0.044715·x³), y = x / (1 + 2^t), which is x·½·(1 + tanh u) without the cancellation of 1 + tanh u below zero (CUDA's
    /// fusion_gelu_tanh_sigmoid, ILGPU's KernelMath.GeluTanh: one exp2, one reciprocal).
    /// </summary>
    public static void GeluTanh(ReadOnlySpan<float> x, Span<float> y)
    {
        if (y.Length < x.Length) throw new ArgumentException("output shorter than input", nameof(y));
        // t in a buffer of its own, a chunk at a time: y may be x itself (the interpreter's rows run in place).
        Span<float> t = stackalloc float[256];
        for (int at = 0; at < x.Length; at += t.Length)
        {
            var xs = x.Slice(at, Math.Min(t.Length, x.Length - at));
            var ts = t[..xs.Length];
            System.Numerics.Tensors.TensorPrimitives.Multiply(xs, xs, ts);
            System.Numerics.Tensors.TensorPrimitives.Multiply(ts, GeluTanhCubic, ts);
            System.Numerics.Tensors.TensorPrimitives.Add(ts, GeluTanhLinear, ts);
            System.Numerics.Tensors.TensorPrimitives.Multiply(ts, xs, ts);
            System.Numerics.Tensors.TensorPrimitives.Exp2(ts, ts);
            System.Numerics.Tensors.TensorPrimitives.Add(ts, 1f, ts);
            System.Numerics.Tensors.TensorPrimitives.Divide(xs, ts, y.Slice(at, xs.Length));
        }
    }

    /// <summary>One element of <see cref="GeluTanh(ReadOnlySpan{float}, Span{float})"/>, the same steps.</summary>
    public static float GeluTanh(float x) => x / (1f + float.Exp2(x * (x * x * GeluTanhCubic + GeluTanhLinear)));

    /// <summary>−2·log2(e)·√(2/π) and −2·log2(e)·0.044715·√(2/π): the tanh form's exponent is x·(linear + cubic·x²), as the GPU folds it (prelude.cuh's fusion_gelu_tanh_sigmoid spells them too); ILGPU's KernelMath.GeluTanh reads them here.</summary>
    internal const float GeluTanhLinear = -2.302208198144325f, GeluTanhCubic = -0.1029432395800235f;

    /// <summary>A function of one vector of lanes, for <see cref="Map{TLanes}"/>.</summary>
    private interface ILanes
    {
        static abstract Vector<float> Apply(Vector<float> x);
    }

    private readonly struct ErfLanes : ILanes
    {
        public static Vector<float> Apply(Vector<float> x) => Erf(x);
    }

    private readonly struct GeluLanes : ILanes
    {
        public static Vector<float> Apply(Vector<float> x) => Gelu(x);
    }

    /// <summary>y = f(x) a vector at a time; the tail through one vector of a padded copy, so it gets what the vector lanes compute.</summary>
    private static void Map<TLanes>(ReadOnlySpan<float> x, Span<float> y) where TLanes : struct, ILanes
    {
        if (y.Length < x.Length) throw new ArgumentException("output shorter than input", nameof(y));
        int n = x.Length, width = Vector<float>.Count, i = 0;
        ref float source = ref MemoryMarshal.GetReference(x);
        ref float target = ref MemoryMarshal.GetReference(y);
        for (; i <= n - width; i += width)
            TLanes.Apply(Vector.LoadUnsafe(ref source, (nuint)i)).StoreUnsafe(ref target, (nuint)i);
        if (i == n) return;
        Span<float> tail = stackalloc float[width];
        tail.Clear();
        x[i..].CopyTo(tail);
        TLanes.Apply(Vector.LoadUnsafe(ref MemoryMarshal.GetReference(tail))).StoreUnsafe(ref MemoryMarshal.GetReference(tail));
        tail[..(n - i)].CopyTo(y[i..]);
    }

    /// <summary>GELU (erf form) in float32 lanes, in the loop IR's order of operations: (x·½)·(erf(x·(1/√2)) + 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector<float> Gelu(Vector<float> x) =>
        x * new Vector<float>(0.5f) * (Erf(x * new Vector<float>(0.70710678118654752f)) + Vector<float>.One);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Erf(Vector<float> x)
    {
        var ax = Vector.Abs(x);
        var isNear = Vector.LessThan(ax, new Vector<float>(SeriesLimit));
        // Each branch only where some lane takes it (a GELU's inputs are often all on one side): the same values, less work.
        if (isNear == Vector<int>.AllBitsSet) return Near(x); // a NaN lane is never near
        var y = isNear == Vector<int>.Zero ? Far(x, ax) : Vector.ConditionalSelect(isNear, Near(x), Far(x, ax));
        return Vector.ConditionalSelect(Vector.Equals(x, x), y, x); // NaN stays NaN (the clamp would make it 4)
    }

    /// <summary>Near zero: the 2/√π term as an FMA on top of the rest, so it is rounded once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Near(Vector<float> x)
    {
        var u = x * x;
        var q = Horner(s_q, u);
        return Vector.FusedMultiplyAdd(x, new Vector<float>(TwoOverSqrtPiHigh),
            Vector.FusedMultiplyAdd(x, new Vector<float>(TwoOverSqrtPiLow), x * u * q));
    }

    /// <summary>Further out, |x| clamped to 4 (where the result is 1 in float32 anyway), x's sign bit put back.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Far(Vector<float> x, Vector<float> ax)
    {
        var clamped = Vector.Min(ax, new Vector<float>(One));
        var g = Horner(s_g, Vector<float>.One / clamped);
        var tail = Vector<float>.One - Vector.Exp(-(clamped * clamped)) * g;
        return Vector.ConditionalSelect(Vector.AsVectorInt32(new Vector<float>(-0f)), x, tail);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Horner(float[] coefficients, Vector<float> v)
    {
        var r = new Vector<float>(coefficients[^1]);
        for (int i = coefficients.Length - 2; i >= 0; i--) r = Vector.FusedMultiplyAdd(r, v, new Vector<float>(coefficients[i]));
        return r;
    }
}
