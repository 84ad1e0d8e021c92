using System.Runtime.CompilerServices;
using Fusion.Compiler;
using System.Runtime.Intrinsics;

namespace Fusion;

/// <summary>
/// The interpreter's row arithmetic: a strided walk's accumulation into a row (depthwise convolutions and poolings: one call per
/// tap and row: acc += x, acc = max(acc, x), acc = min(acc, x), acc = x·y + acc fused) and a pointwise instruction's row
/// (y = x0 op x1 for add, subtract, multiply, divide, max, min, either operand a row or one value). The same operations as
/// TensorPrimitives' (IEEE 754 maximum and minimum: NaN wins, −0 below +0; one rounding for the fused product), written out here
/// so that they are compiled fully optimized at their first call: TensorPrimitives' generic bodies start as the JIT's first-tier
/// code and stay there until its background thread re-compiles them, which made a max pool 2.5× slower and Swin-T's layer norms
/// 5× slower for a short run's first passes. 512-bit vectors where the JIT accelerates them, as TensorPrimitives uses (a depthwise
/// convolution's walk is bound by these FMAs), else 256-bit.
/// </summary>
internal static class RowMath
{
    public static void Add(Span<float> acc, ReadOnlySpan<float> x) => Combine<AddOp>(acc, x, acc);

    public static void Max(Span<float> acc, ReadOnlySpan<float> x) => Combine<MaxOp>(acc, x, acc);

    public static void Min(Span<float> acc, ReadOnlySpan<float> x) => Combine<MinOp>(acc, x, acc);

    /// <summary>y = x0 op x1 element by element; false (nothing written) for an operation this class does not hold.</summary>
    public static bool TryApply(ScalarOp op, ReadOnlySpan<float> x0, ReadOnlySpan<float> x1, Span<float> y)
    {
        switch (op)
        {
            case ScalarOp.Add: Combine<AddOp>(x0, x1, y); return true;
            case ScalarOp.Sub: Combine<SubOp>(x0, x1, y); return true;
            case ScalarOp.Mul: Combine<MulOp>(x0, x1, y); return true;
            case ScalarOp.Div: Combine<DivOp>(x0, x1, y); return true;
            case ScalarOp.Max: Combine<MaxOp>(x0, x1, y); return true;
            case ScalarOp.Min: Combine<MinOp>(x0, x1, y); return true;
            default: return false;
        }
    }

    /// <summary>y = x0 op s (<paramref name="scalarFirst"/> false) or s op x0 (true); false for an operation this class does not hold.</summary>
    public static bool TryApply(ScalarOp op, ReadOnlySpan<float> x0, float s, bool scalarFirst, Span<float> y)
    {
        switch (op)
        {
            case ScalarOp.Add: CombineScalar<AddOp>(x0, s, scalarFirst, y); return true;
            case ScalarOp.Sub: CombineScalar<SubOp>(x0, s, scalarFirst, y); return true;
            case ScalarOp.Mul: CombineScalar<MulOp>(x0, s, scalarFirst, y); return true;
            case ScalarOp.Div: CombineScalar<DivOp>(x0, s, scalarFirst, y); return true;
            case ScalarOp.Max: CombineScalar<MaxOp>(x0, s, scalarFirst, y); return true;
            case ScalarOp.Min: CombineScalar<MinOp>(x0, s, scalarFirst, y); return true;
            default: return false;
        }
    }

    /// <summary>acc = x·y + acc, rounded once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FusedMultiplyAdd(Span<float> acc, ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        Check(acc, x);
        Check(acc, y);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + Vector512<float>.Count <= acc.Length; i += Vector512<float>.Count)
                Vector512.FusedMultiplyAdd(Vector512.Create(x.Slice(i)), Vector512.Create(y.Slice(i)), Vector512.Create(acc.Slice(i))).CopyTo(acc.Slice(i));
        for (; i + Vector256<float>.Count <= acc.Length; i += Vector256<float>.Count)
            Vector256.FusedMultiplyAdd(Vector256.Create(x.Slice(i)), Vector256.Create(y.Slice(i)), Vector256.Create(acc.Slice(i))).CopyTo(acc.Slice(i));
        for (; i < acc.Length; i++) acc[i] = MathF.FusedMultiplyAdd(x[i], y[i], acc[i]);
    }

    /// <summary>acc = x·y + acc for one y, rounded once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FusedMultiplyAdd(Span<float> acc, ReadOnlySpan<float> x, float y)
    {
        Check(acc, x);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (var factor = Vector512.Create(y); i + Vector512<float>.Count <= acc.Length; i += Vector512<float>.Count)
                Vector512.FusedMultiplyAdd(Vector512.Create(x.Slice(i)), factor, Vector512.Create(acc.Slice(i))).CopyTo(acc.Slice(i));
        for (var factor = Vector256.Create(y); i + Vector256<float>.Count <= acc.Length; i += Vector256<float>.Count)
            Vector256.FusedMultiplyAdd(Vector256.Create(x.Slice(i)), factor, Vector256.Create(acc.Slice(i))).CopyTo(acc.Slice(i));
        for (; i < acc.Length; i++) acc[i] = MathF.FusedMultiplyAdd(x[i], y, acc[i]);
    }

    /// <summary>
    /// acc[i] = x[i]·w[i mod |w|] + acc[i], rounded once: a factor that repeats with the channel period along a row of several pixels
    /// (a depthwise convolution's weight of one tap), one call for the whole row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FusedMultiplyAddPeriodic(Span<float> acc, ReadOnlySpan<float> x, ReadOnlySpan<float> w)
    {
        Check(acc, x);
        int c = w.Length;
        if (c == 0 || acc.Length % c != 0) throw new ArgumentException($"a row of {acc.Length} values is not a whole number of periods of {c}", nameof(w));
        for (int s = 0; s < acc.Length; s += c)
        {
            var a = acc.Slice(s, c);
            var xs = x.Slice(s, c);
            int i = 0;
            if (Vector512.IsHardwareAccelerated)
                for (; i + Vector512<float>.Count <= c; i += Vector512<float>.Count)
                    Vector512.FusedMultiplyAdd(Vector512.Create(xs.Slice(i)), Vector512.Create(w.Slice(i)), Vector512.Create(a.Slice(i))).CopyTo(a.Slice(i));
            for (; i + Vector256<float>.Count <= c; i += Vector256<float>.Count)
                Vector256.FusedMultiplyAdd(Vector256.Create(xs.Slice(i)), Vector256.Create(w.Slice(i)), Vector256.Create(a.Slice(i))).CopyTo(a.Slice(i));
            for (; i < c; i++) a[i] = MathF.FusedMultiplyAdd(xs[i], w[i], a[i]);
        }
    }

    /// <summary>
    /// y = op(a, b) element by element: whole 512-bit vectors (where accelerated), then 256-bit, then one at a time. y may be a or b
    /// (each element is read before it is written).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Combine<TOp>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) where TOp : struct, IRowOp
    {
        Check(y, a);
        Check(y, b);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + Vector512<float>.Count <= y.Length; i += Vector512<float>.Count)
                TOp.Of(Vector512.Create(a.Slice(i)), Vector512.Create(b.Slice(i))).CopyTo(y.Slice(i));
        for (; i + Vector256<float>.Count <= y.Length; i += Vector256<float>.Count)
            TOp.Of(Vector256.Create(a.Slice(i)), Vector256.Create(b.Slice(i))).CopyTo(y.Slice(i));
        for (; i < y.Length; i++) y[i] = TOp.Of(a[i], b[i]);
    }

    /// <summary>y = op(x, s), or op(s, x) when <paramref name="scalarFirst"/>, element by element, in the same vector steps.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CombineScalar<TOp>(ReadOnlySpan<float> x, float s, bool scalarFirst, Span<float> y) where TOp : struct, IRowOp
    {
        Check(y, x);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (var v = Vector512.Create(s); i + Vector512<float>.Count <= y.Length; i += Vector512<float>.Count)
                (scalarFirst ? TOp.Of(v, Vector512.Create(x.Slice(i))) : TOp.Of(Vector512.Create(x.Slice(i)), v)).CopyTo(y.Slice(i));
        for (var v = Vector256.Create(s); i + Vector256<float>.Count <= y.Length; i += Vector256<float>.Count)
            (scalarFirst ? TOp.Of(v, Vector256.Create(x.Slice(i))) : TOp.Of(Vector256.Create(x.Slice(i)), v)).CopyTo(y.Slice(i));
        for (; i < y.Length; i++) y[i] = scalarFirst ? TOp.Of(s, x[i]) : TOp.Of(x[i], s);
    }

    private interface IRowOp
    {
        static abstract Vector512<float> Of(Vector512<float> a, Vector512<float> b);
        static abstract Vector256<float> Of(Vector256<float> a, Vector256<float> b);
        static abstract float Of(float a, float b);
    }

    private readonly struct AddOp : IRowOp
    {
        public static Vector512<float> Of(Vector512<float> a, Vector512<float> b) => a + b;
        public static Vector256<float> Of(Vector256<float> a, Vector256<float> b) => a + b;
        public static float Of(float a, float b) => a + b;
    }

    private readonly struct SubOp : IRowOp
    {
        public static Vector512<float> Of(Vector512<float> a, Vector512<float> b) => a - b;
        public static Vector256<float> Of(Vector256<float> a, Vector256<float> b) => a - b;
        public static float Of(float a, float b) => a - b;
    }

    private readonly struct MulOp : IRowOp
    {
        public static Vector512<float> Of(Vector512<float> a, Vector512<float> b) => a * b;
        public static Vector256<float> Of(Vector256<float> a, Vector256<float> b) => a * b;
        public static float Of(float a, float b) => a * b;
    }

    private readonly struct DivOp : IRowOp
    {
        public static Vector512<float> Of(Vector512<float> a, Vector512<float> b) => a / b;
        public static Vector256<float> Of(Vector256<float> a, Vector256<float> b) => a / b;
        public static float Of(float a, float b) => a / b;
    }

    private readonly struct MaxOp : IRowOp
    {
        public static Vector512<float> Of(Vector512<float> a, Vector512<float> b) => Vector512.Max(a, b);
        public static Vector256<float> Of(Vector256<float> a, Vector256<float> b) => Vector256.Max(a, b);
        public static float Of(float a, float b) => MathF.Max(a, b);
    }

    private readonly struct MinOp : IRowOp
    {
        public static Vector512<float> Of(Vector512<float> a, Vector512<float> b) => Vector512.Min(a, b);
        public static Vector256<float> Of(Vector256<float> a, Vector256<float> b) => Vector256.Min(a, b);
        public static float Of(float a, float b) => MathF.Min(a, b);
    }

    private static void Check(Span<float> acc, ReadOnlySpan<float> x)
    {
        if (x.Length != acc.Length) throw new ArgumentException($"a row of {x.Length} values combined into a row of {acc.Length}", nameof(x));
    }
}
