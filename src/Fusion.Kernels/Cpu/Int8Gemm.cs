using System.Numerics;
using System.Runtime.InteropServices;

namespace Fusion.Kernels.Cpu;

/// <summary>
/// The exact integer GEMM of INT8 quantization: C [m, n] (int32) = A [m, k] (int8) · Bᵀ where B is [n, k] (int8, a Linear's
/// weight as stored: one output channel a row), every product and sum in integers, so a GPU's int8 tensor-core GEMM can be
/// compared with it bit for bit. Dot products of two int8 rows run on widened vectors (int8 → int16 → int32 lanes), rows of
/// C spread over the cores. Sums cannot overflow: |a·b| ≤ 128², so k is limited to <see cref="MaxDepth"/>.
/// </summary>
public static class Int8Gemm
{
    /// <summary>The largest k whose sums of k products of int8 values (each at most 128² = 16384 in magnitude) fit an int32.</summary>
    public const int MaxDepth = int.MaxValue / (128 * 128);

    /// <summary>C = A · Bᵀ with A [m, k], B [n, k] and C [m, n], row-major.</summary>
    public static void MultiplyTransposed(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<int> c, int m, int n, int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (k > MaxDepth) throw new ArgumentOutOfRangeException(nameof(k), k, $"an int8 GEMM's depth must be at most {MaxDepth}: longer sums may overflow int32");
        Check(a.Length, (long)m * k, nameof(a));
        Check(b.Length, (long)n * k, nameof(b));
        Check(c.Length, (long)m * n, nameof(c));
        if (m == 0 || n == 0) return;
        unsafe
        {
            fixed (sbyte* pa = a, pb = b)
            fixed (int* pc = c)
            {
                nint aAddr = (nint)pa, bAddr = (nint)pb, cAddr = (nint)pc;
                Parallelism.For(m, (long)n * k, (start, end) =>
                {
                    for (int i = start; i < end; i++)
                    {
                        var row = new ReadOnlySpan<sbyte>((sbyte*)aAddr + (long)i * k, k);
                        var outRow = new Span<int>((int*)cAddr + (long)i * n, n);
                        for (int j = 0; j < n; j++) outRow[j] = Dot(row, new ReadOnlySpan<sbyte>((sbyte*)bAddr + (long)j * k, k));
                    }
                });
            }
        }
    }

    /// <summary>Σ x[i]·y[i] in int32, exact.</summary>
    public static int Dot(ReadOnlySpan<sbyte> x, ReadOnlySpan<sbyte> y)
    {
        if (x.Length != y.Length) throw new ArgumentException($"int8 dot product of {x.Length} and {y.Length} values");
        int i = 0, total = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<sbyte>.Count)
        {
            var sum = Vector<int>.Zero;
            var xs = MemoryMarshal.Cast<sbyte, Vector<sbyte>>(x);
            var ys = MemoryMarshal.Cast<sbyte, Vector<sbyte>>(y);
            for (int v = 0; v < xs.Length; v++)
            {
                // int8 → int16 halves; their products (≤ 2¹⁴ in magnitude) fit int16's widening into int32 exactly.
                Vector.Widen(xs[v], out Vector<short> xLo, out Vector<short> xHi);
                Vector.Widen(ys[v], out Vector<short> yLo, out Vector<short> yHi);
                sum += Products(xLo, yLo) + Products(xHi, yHi);
            }
            total = Vector.Sum(sum);
            i = xs.Length * Vector<sbyte>.Count;
        }
        for (; i < x.Length; i++) total += x[i] * y[i];
        return total;
    }

    /// <summary>Pairwise sums of the int32 products of two int16 vectors (pmaddwd's shape, written portably).</summary>
    private static Vector<int> Products(Vector<short> x, Vector<short> y)
    {
        Vector.Widen(x, out Vector<int> x0, out Vector<int> x1);
        Vector.Widen(y, out Vector<int> y0, out Vector<int> y1);
        return x0 * y0 + x1 * y1;
    }

    private static void Check(int length, long needed, string name)
    {
        if (length < needed) throw new ArgumentException($"int8 GEMM operand {name} holds {length} elements, needs {needed}", name);
    }
}
