using Fusion.Cuda;

namespace Fusion;

/// <summary>
/// The index map of one backend_ops.cu layout or broadcast kernel: <see cref="Count"/> axes, each with a size,
/// a stride per input (in elements, 0 to broadcast) and a cyclic shift, outermost first. Adjacent axes that
/// walk memory contiguously are merged and size-1 axes dropped, so most operators fit the kernels' six axes.
/// </summary>
internal sealed class Axes
{
    /// <summary>The number of axes the kernels take (BACKEND_AXES in backend_ops.cu).</summary>
    public const int Count = 6;

    private Axes(int[] dims, int[][] strides, int[] shifts)
    {
        Dims = dims;
        Strides = strides;
        Shifts = shifts;
    }

    public int[] Dims { get; }

    public int[][] Strides { get; }

    public int[] Shifts { get; }

    /// <summary>Row-major strides of <paramref name="dims"/>.</summary>
    public static long[] Contiguous(ReadOnlySpan<int> dims)
    {
        var strides = new long[dims.Length];
        long stride = 1;
        for (int i = dims.Length - 1; i >= 0; i--)
        {
            strides[i] = stride;
            stride *= dims[i];
        }
        return strides;
    }

    /// <summary>Strides of <paramref name="shape"/> right-aligned to <paramref name="rank"/> axes, 0 on its size-1 and missing axes.</summary>
    public static long[] Broadcast(Shape shape, int rank)
    {
        var own = Contiguous(shape.Dims);
        var strides = new long[rank];
        for (int i = 0; i < shape.Rank; i++) strides[rank - shape.Rank + i] = shape[i] == 1 ? 0 : own[i];
        return strides;
    }

    /// <summary>Merges and pads the map; <paramref name="op"/> names the operator if it still needs more than six axes.</summary>
    public static Axes Collapse(int[] dims, long[][] strides, int[]? shifts, string op)
    {
        var kept = new List<(long Dim, long[] Strides, int Shift)>();
        bool empty = dims.Contains(0);
        for (int axis = 0; axis < dims.Length && !empty; axis++)
        {
            if (dims[axis] == 1) continue;
            var own = strides.Select(s => s[axis]).ToArray();
            int shift = shifts?[axis] ?? 0;
            if (kept.Count > 0)
            {
                var outer = kept[^1];
                bool joins = shift == 0 && outer.Shift == 0;
                for (int j = 0; joins && j < own.Length; j++) joins = outer.Strides[j] == own[j] * dims[axis];
                if (joins)
                {
                    kept[^1] = (outer.Dim * dims[axis], own, 0);
                    continue;
                }
            }
            kept.Add((dims[axis], own, shift));
        }
        if (kept.Count > Count)
            throw new NotSupportedException($"{op}: the CUDA backend's layout kernels take at most {Count} axes once contiguous ones are merged; this one needs {kept.Count}");
        int pad = Count - kept.Count;
        var outDims = new int[Count];
        var outStrides = strides.Select(_ => new int[Count]).ToArray();
        var outShifts = new int[Count];
        for (int i = 0; i < Count; i++)
        {
            if (i < pad)
            {
                outDims[i] = 1;
                continue;
            }
            var (dim, own, shift) = kept[i - pad];
            outDims[i] = Narrow(dim, op);
            for (int j = 0; j < own.Length; j++) outStrides[j][i] = Narrow(own[j], op);
            outShifts[i] = shift;
        }
        return new Axes(outDims, outStrides, outShifts);
    }

    /// <summary>Adds one int argument per axis.</summary>
    public KernelArguments Append(KernelArguments arguments, int[] values)
    {
        foreach (int v in values) arguments.Int(v);
        return arguments;
    }

    private static int Narrow(long value, string op) => value <= int.MaxValue
        ? (int)value
        : throw new NotSupportedException($"{op}: the CUDA backend's layout kernels index with 32-bit sizes and strides; this one needs {value}");
}
