namespace Fusion.Kernels.Cpu;

/// <summary>Pure data movement over row-major N-d arrays: strided copies (permute, select) and cyclic shifts.</summary>
public static class Layout
{
    /// <summary>Row-major strides of <paramref name="dims"/>.</summary>
    public static int[] Strides(ReadOnlySpan<int> dims)
    {
        var strides = new int[dims.Length];
        int s = 1;
        for (int i = dims.Length - 1; i >= 0; i--)
        {
            strides[i] = s;
            s = checked(s * dims[i]);
        }
        return strides;
    }

    /// <summary>
    /// y (dense, row-major over <paramref name="outDims"/>) [idx] = x[offset + idx·<paramref name="srcStrides"/>].
    /// Contiguous source rows are block-copied; otherwise the last axis is gathered element by element.
    /// </summary>
    public static void StridedCopy<T>(ReadOnlySpan<T> x, int offset, ReadOnlySpan<int> srcStrides, ReadOnlySpan<int> outDims, Span<T> y)
    {
        int rank = outDims.Length;
        if (rank == 0)
        {
            y[0] = x[offset];
            return;
        }
        int inner = outDims[rank - 1];
        int innerStride = srcStrides[rank - 1];
        long rows = 1;
        for (int i = 0; i < rank - 1; i++) rows *= outDims[i];
        if (inner == 0 || rows == 0) return;

        Span<int> index = stackalloc int[rank];
        int src = offset;
        for (long row = 0; row < rows; row++)
        {
            var dst = y.Slice(checked((int)(row * inner)), inner);
            if (innerStride == 1) x.Slice(src, inner).CopyTo(dst);
            else for (int j = 0; j < inner; j++) dst[j] = x[src + j * innerStride];

            for (int axis = rank - 2; axis >= 0; axis--)
            {
                src += srcStrides[axis];
                if (++index[axis] < outDims[axis]) break;
                src -= srcStrides[axis] * outDims[axis];
                index[axis] = 0;
            }
        }
    }

    /// <summary>Output axis i is input axis <paramref name="axes"/>[i].</summary>
    public static void Permute<T>(ReadOnlySpan<T> x, ReadOnlySpan<int> dims, ReadOnlySpan<int> axes, Span<T> y)
    {
        var inStrides = Strides(dims);
        var outDims = new int[axes.Length];
        var srcStrides = new int[axes.Length];
        for (int i = 0; i < axes.Length; i++)
        {
            outDims[i] = dims[axes[i]];
            srcStrides[i] = inStrides[axes[i]];
        }
        StridedCopy(x, 0, srcStrides, outDims, y);
    }

    /// <summary>Index <paramref name="index"/> of axis <paramref name="axis"/>, that axis removed.</summary>
    public static void Select<T>(ReadOnlySpan<T> x, ReadOnlySpan<int> dims, int axis, int index, Span<T> y)
    {
        var inStrides = Strides(dims);
        var outDims = new int[dims.Length - 1];
        var srcStrides = new int[dims.Length - 1];
        for (int i = 0, o = 0; i < dims.Length; i++)
        {
            if (i == axis) continue;
            outDims[o] = dims[i];
            srcStrides[o++] = inStrides[i];
        }
        StridedCopy(x, index * inStrides[axis], srcStrides, outDims, y);
    }

    /// <summary>
    /// Cyclic shift like torch.roll: y[i] = x[(i − shift) mod n] along each axis with shift <paramref name="shifts"/>[axis]
    /// (0 leaves an axis alone). The last axis, if shifted, is copied as two contiguous pieces.
    /// </summary>
    public static void Roll<T>(ReadOnlySpan<T> x, ReadOnlySpan<int> dims, ReadOnlySpan<int> shifts, Span<T> y)
    {
        int rank = dims.Length;
        if (rank == 0)
        {
            y[0] = x[0];
            return;
        }
        var strides = Strides(dims);
        int inner = dims[rank - 1];
        long rows = 1;
        for (int i = 0; i < rank - 1; i++) rows *= dims[i];
        if (inner == 0 || rows == 0) return;
        int innerShift = Mod(shifts[rank - 1], inner);

        Span<int> index = stackalloc int[rank];
        for (long row = 0; row < rows; row++)
        {
            int src = 0;
            for (int axis = 0; axis < rank - 1; axis++) src += Mod(index[axis] - shifts[axis], dims[axis]) * strides[axis];
            var from = x.Slice(src, inner);
            var dst = y.Slice(checked((int)(row * inner)), inner);
            // dst[j] = from[(j − s) mod n]: the last s source elements come first.
            from[(inner - innerShift)..].CopyTo(dst);
            from[..(inner - innerShift)].CopyTo(dst[innerShift..]);

            for (int axis = rank - 2; axis >= 0; axis--)
            {
                if (++index[axis] < dims[axis]) break;
                index[axis] = 0;
            }
        }
    }

    private static int Mod(int value, int n)
    {
        int r = value % n;
        return r < 0 ? r + n : r;
    }
}
