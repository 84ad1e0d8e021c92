using System.Numerics.Tensors;

namespace Fusion.Kernels.Cpu;

/// <summary>Elementwise binary operations with broadcasting expressed as strides (0 along broadcast axes).</summary>
public static class Broadcast
{
    /// <summary>
    /// y[idx] = a[idx·aStrides] + b[idx·bStrides] over the row-major index space <paramref name="dims"/>.
    /// The last axis is done a row at a time with TensorPrimitives (vector or scalar operand).
    /// </summary>
    public static void Add(ReadOnlySpan<float> a, ReadOnlySpan<int> aStrides, ReadOnlySpan<float> b, ReadOnlySpan<int> bStrides, Span<float> y, ReadOnlySpan<int> dims)
    {
        int rank = dims.Length;
        if (aStrides.Length != rank || bStrides.Length != rank) throw new ArgumentException("one stride per dimension is needed");
        if (rank == 0)
        {
            y[0] = a[0] + b[0];
            return;
        }
        int inner = dims[rank - 1];
        int aInner = aStrides[rank - 1], bInner = bStrides[rank - 1];
        if ((aInner != 0 && aInner != 1) || (bInner != 0 && bInner != 1))
            throw new ArgumentException("the last axis must be contiguous (stride 1) or broadcast (stride 0)");
        long rows = 1;
        for (int i = 0; i < rank - 1; i++) rows *= dims[i];
        if (inner == 0 || rows == 0) return;

        Span<int> index = stackalloc int[rank];
        long aOff = 0, bOff = 0;
        for (long row = 0; row < rows; row++)
        {
            var dst = y.Slice(checked((int)(row * inner)), inner);
            if (aInner == 1 && bInner == 1) TensorPrimitives.Add(a.Slice((int)aOff, inner), b.Slice((int)bOff, inner), dst);
            else if (aInner == 1) TensorPrimitives.Add(a.Slice((int)aOff, inner), b[(int)bOff], dst);
            else if (bInner == 1) TensorPrimitives.Add(b.Slice((int)bOff, inner), a[(int)aOff], dst);
            else dst.Fill(a[(int)aOff] + b[(int)bOff]);

            // Odometer over the outer axes, keeping both operand offsets in step.
            for (int axis = rank - 2; axis >= 0; axis--)
            {
                aOff += aStrides[axis];
                bOff += bStrides[axis];
                if (++index[axis] < dims[axis]) break;
                aOff -= (long)aStrides[axis] * dims[axis];
                bOff -= (long)bStrides[axis] * dims[axis];
                index[axis] = 0;
            }
        }
    }
}
