using Fusion.Cuda;
using Fusion.Cuda.Fused;
using Fusion.Cuda.Gemm;
using Fusion.Cuda.Generated;
using static Fusion.OperandChecks;

namespace Fusion;

/// <summary>Part of <see cref="CudaBackend"/>: layout operators, reshapes as views, the rest as one strided gather of backend_ops.cu.</summary>
public sealed partial class CudaBackend
{
    public Tensor Reshape(Tensor x, Shape shape) => _rules.Reshape(x, shape).View(shape);

    public Tensor Permute(Tensor x, ReadOnlySpan<int> axes)
    {
        var (input, order, shape) = _rules.Permute(x, axes);
        var own = Axes.Contiguous(input.Shape.Dims);
        var strides = new long[order.Length];
        for (int i = 0; i < order.Length; i++) strides[i] = own[order[i]];
        return Gather(input, 0, shape, shape.ToArray(), strides, null, "Permute");
    }

    public Tensor Select(Tensor x, int axis, int index)
    {
        var (input, a, shape) = _rules.Select(x, axis, index);
        var own = Axes.Contiguous(input.Shape.Dims).ToList();
        long offset = index * own[a];
        own.RemoveAt(a);
        return Gather(input, offset, shape, shape.ToArray(), [.. own], null, "Select");
    }

    public Tensor Roll(Tensor x, int shift, ReadOnlySpan<int> axes)
    {
        var (input, shifts) = _rules.Roll(x, shift, axes);
        return Gather(input, 0, input.Shape, input.Shape.ToArray(), Axes.Contiguous(input.Shape.Dims), shifts, "Roll");
    }

    public Tensor WindowPartition(Tensor x, int window)
    {
        var (input, shape) = _rules.WindowPartition(x, window);
        var s = input.Shape;
        int b = s[0], h = s[1], w = s[2], c = s[3];
        // Output [B, H/w, W/w, w, w, C] read from the image [B, H, W, C].
        long row = (long)w * c;
        return Gather(input, 0, shape, [b, h / window, w / window, window, window, c], [h * row, window * row, (long)window * c, row, c, 1], null, "WindowPartition");
    }

    public Tensor WindowReverse(Tensor x, int window, int height, int width)
    {
        var (input, shape) = _rules.WindowReverse(x, window, height, width);
        int b = shape[0], c = shape[3], across = width / window, down = height / window;
        // Output [B, H/w, w, W/w, w, C] read from the windows [B, H/w, W/w, w, w, C].
        long token = c, windowSize = (long)window * window * c;
        return Gather(input, 0, shape, [b, down, window, across, window, c],
            [down * across * windowSize, across * windowSize, window * token, windowSize, token, 1], null, "WindowReverse");
    }

    public Tensor PatchMerging(Tensor x)
    {
        var (input, shape) = _rules.PatchMerging(x);
        var s = input.Shape;
        int b = s[0], h = s[1], w = s[2], c = s[3];
        // Output [B, H/2, W/2, column offset, row offset, C]: channel blocks (0,0), (1,0), (0,1), (1,1) by (row, column).
        long row = (long)w * c;
        return Gather(input, 0, shape, [b, h / 2, w / 2, 2, 2, c], [h * row, 2 * row, 2L * c, c, row, 1], null, "PatchMerging");
    }

    public Tensor Patchify(Tensor x, int patch) => Patchify(x, patch, _rules.Float(x, "Patchify x").DType);

    /// <summary>The gather converts while it moves when <paramref name="dtype"/> is not x's (an input image to fp16 patches).</summary>
    public Tensor Patchify(Tensor x, int patch, DType dtype)
    {
        var (input, shape) = _rules.Patchify(x, patch);
        FloatDType(dtype, "Patchify dtype");
        var s = input.Shape;
        int b = s[0], c = s[1], h = s[2], w = s[3];
        // Output [B, H/p, W/p, C, p, p] read from the image [B, C, H, W].
        long plane = (long)h * w;
        return Gather(input, 0, shape, [b, h / patch, w / patch, c, patch, patch], [c * plane, (long)patch * w, patch, plane, w, 1], null, "Patchify", dtype);
    }

    /// <summary>
    /// y = x gathered through an index map: output element (i₀, …) reads x at offset + Σ ((iₐ − shiftₐ) mod dimₐ)·strideₐ,
    /// over the axes <paramref name="dims"/> whose product is y's element count.
    /// The elements are moved as bits (b16, b32), or converted when <paramref name="dtype"/> is given and differs from x's.
    /// </summary>
    private CudaTensor Gather(CudaTensor x, long offset, Shape shape, int[] dims, long[] strides, int[]? shifts, string op, DType? dtype = null)
    {
        var axes = Axes.Collapse(dims, [strides], shifts, op);
        var to = dtype ?? x.DType;
        var y = CudaTensor.Empty(Stream, to, shape);
        ulong source = x.Pointer + (ulong)(offset * x.DType.SizeInBytes());
        string kernel = to != x.DType ? $"backend_gather_{Suffix(x.DType)}_{Suffix(to)}" : x.DType == DType.Float16 ? "backend_gather_b16" : "backend_gather_b32";
        Map(kernel, y.ElementCount, y,
            args => axes.Append(axes.Append(axes.Append(args.Pointer(source).Pointer(y).Long(y.ElementCount), axes.Dims), axes.Strides[0]), axes.Shifts));
        return y;
    }
}
