using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Fusion;

/// <summary>
/// A strided walk's accumulation into a row (the interpreter's depthwise convolutions and poolings: one call per tap and row):
/// acc += x, acc = max(acc, x), acc = min(acc, x), acc = x·y + acc (fused). The same operations as TensorPrimitives' (IEEE 754
/// maximum and minimum: NaN wins, −0 below +0; one rounding for the fused product), written out here so that they are compiled
/// fully optimized at their first call: TensorPrimitives' generic bodies start as the JIT's first-tier code and stay there until its
/// background thread re-compiles them, which made a max pool 2.5× slower for a short run's first passes. 512-bit vectors where the
/// JIT accelerates them, as TensorPrimitives uses (a depthwise convolution's walk is bound by these FMAs), else 256-bit.
/// </summary>
internal static class RowAccumulate
{
    public static void Add(Span<float> acc, ReadOnlySpan<float> x) => Combine<AddOp>(acc, x);

    public static void Max(Span<float> acc, ReadOnlySpan<float> x) => Combine<MaxOp>(acc, x);

    public static void Min(Span<float> acc, ReadOnlySpan<float> x) => Combine<MinOp>(acc, x);

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

    /// <summary>acc = op(acc, x) element by element: whole 512-bit vectors (where accelerated), then 256-bit, then one at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Combine<TOp>(Span<float> acc, ReadOnlySpan<float> x) where TOp : struct, IRowOp
    {
        Check(acc, x);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + Vector512<float>.Count <= acc.Length; i += Vector512<float>.Count)
                TOp.Of(Vector512.Create(acc.Slice(i)), Vector512.Create(x.Slice(i))).CopyTo(acc.Slice(i));
        for (; i + Vector256<float>.Count <= acc.Length; i += Vector256<float>.Count)
            TOp.Of(Vector256.Create(acc.Slice(i)), Vector256.Create(x.Slice(i))).CopyTo(acc.Slice(i));
        for (; i < acc.Length; i++) acc[i] = TOp.Of(acc[i], x[i]);
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
        if (x.Length != acc.Length) throw new ArgumentException($"a row of {x.Length} values combined into an accumulator of {acc.Length}", nameof(x));
    }
}
