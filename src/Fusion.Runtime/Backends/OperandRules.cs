using static Fusion.OperandChecks;

namespace Fusion;

/// <summary>
/// The operand checks and result shapes of every unfused operator, for the tensors of one backend
/// (<typeparamref name="T"/>, accepted when <c>belongs</c> says the tensor lives there). Backends call
/// these first and then only compute, so every backend rejects the same operands with the same
/// <see cref="TensorMismatchException"/> messages.
/// </summary>
internal sealed class OperandRules<T>(string device, Func<T, bool> belongs) where T : Tensor
{
    /// <summary>The tensor as a live tensor of this backend, of any dtype.</summary>
    public T Resident(Tensor tensor, string what)
    {
        ArgumentNullException.ThrowIfNull(tensor, what);
        tensor.ThrowIfDisposed();
        return tensor is T own && belongs(own) ? own : throw new TensorMismatchException(what, $"a {device} tensor", tensor.ToString());
    }

    /// <summary>The tensor as a live float tensor of this backend.</summary>
    public T Float(Tensor tensor, string what)
    {
        var t = Resident(tensor, what);
        if (t.DType is not (DType.Float32 or DType.Float16))
            throw new TensorMismatchException(what, "an f32 or f16 tensor", Describe(t));
        return t;
    }

    /// <summary>A live float tensor of <paramref name="dtype"/> whose dims match <paramref name="pattern"/> (−1 matches any size).</summary>
    public T Dims(Tensor tensor, string what, DType dtype, params int[] pattern)
    {
        var t = Float(tensor, what);
        bool ok = t.DType == dtype && t.Rank == pattern.Length;
        for (int i = 0; ok && i < pattern.Length; i++) ok = pattern[i] < 0 || pattern[i] == t.Shape[i];
        if (!ok) throw new TensorMismatchException(what, Pattern(dtype, pattern), Describe(t));
        return t;
    }

    /// <summary>A live float tensor with at least <paramref name="rank"/> axes.</summary>
    public T MinRank(Tensor tensor, string what, int rank, string layout)
    {
        var t = Float(tensor, what);
        if (t.Rank < rank) throw new TensorMismatchException(what, $"{t.DType.ShortName()}{layout}", Describe(t));
        return t;
    }

    public T Cast(Tensor x, DType dtype)
    {
        var input = Float(x, "Cast x");
        FloatDType(dtype, "Cast dtype");
        return input;
    }

    public (T X, T Weight, T? Bias, Shape Output) Linear(Tensor x, Tensor weight, Tensor? bias)
    {
        var input = MinRank(x, "Linear x", 1, "[..., K]");
        int k = input.Shape[-1];
        var w = Dims(weight, "Linear weight", input.DType, -1, k);
        int n = w.Shape[0];
        var b = bias is null ? null : Dims(bias, "Linear bias", input.DType, n);
        return (input, w, b, input.Shape.With(-1, n));
    }

    /// <summary>b is either one matrix shared by the batch or a batch with exactly a's leading dims.</summary>
    public (T A, T B, Shape Output) MatMul(Tensor a, Tensor b, bool transposeB)
    {
        var left = MinRank(a, "MatMul a", 2, "[..., M, K]");
        int k = left.Shape[-1];
        var right = MinRank(b, "MatMul b", 2, transposeB ? "[..., N, K]" : "[..., K, N]");
        var pattern = right.Rank == 2 ? new int[2] : left.Shape.ToArray();
        pattern[^2] = transposeB ? -1 : k;
        pattern[^1] = transposeB ? k : -1;
        Dims(right, "MatMul b", left.DType, pattern);
        int n = transposeB ? right.Shape[-2] : right.Shape[-1];
        return (left, right, left.Shape.With(-1, n));
    }

    public (T A, T B, Shape Output) Add(Tensor a, Tensor b)
    {
        var left = Float(a, "Add a");
        var right = Float(b, "Add b");
        if (right.DType != left.DType)
            throw new TensorMismatchException("Add b", $"{left.DType.ShortName()} like a", Describe(right));
        int rank = Math.Max(left.Rank, right.Rank);
        var dims = new int[rank];
        for (int i = 1; i <= rank; i++)
        {
            int da = i <= left.Rank ? left.Shape[-i] : 1, db = i <= right.Rank ? right.Shape[-i] : 1;
            if (da != db && da != 1 && db != 1)
                throw new TensorMismatchException("Add b", $"a shape that broadcasts with a {Describe(left)}", Describe(right));
            dims[rank - i] = da == 1 ? db : da;
        }
        return (left, right, new Shape(dims));
    }

    public (T X, T Weight, T Bias) LayerNorm(Tensor x, Tensor weight, Tensor bias)
    {
        var input = MinRank(x, "LayerNorm x", 1, "[..., C]");
        int c = input.Shape[-1];
        return (input, Dims(weight, "LayerNorm weight", input.DType, c), Dims(bias, "LayerNorm bias", input.DType, c));
    }

    /// <summary>LayerNorm writing <paramref name="dtype"/>: x, and weight with bias, may each be either float type.</summary>
    public (T X, T Weight, T Bias) LayerNorm(Tensor x, Tensor weight, Tensor bias, DType dtype)
    {
        FloatDType(dtype, "LayerNorm dtype");
        var input = MinRank(x, "LayerNorm x", 1, "[..., C]");
        int c = input.Shape[-1];
        var w = Dims(weight, "LayerNorm weight", Float(weight, "LayerNorm weight").DType, c);
        return (input, w, Dims(bias, "LayerNorm bias", w.DType, c));
    }

    public T Softmax(Tensor x) => MinRank(x, "Softmax x", 1, "[..., N]");

    public T Reshape(Tensor x, Shape shape)
    {
        var input = Float(x, "Reshape x");
        if (shape.ElementCount != input.ElementCount)
            throw new TensorMismatchException("Reshape x", $"{shape.ElementCount} elements to fill {shape}", Describe(input));
        return input;
    }

    /// <summary>The input, the axes normalized to [0, rank), and the permuted shape.</summary>
    public (T X, int[] Order, Shape Output) Permute(Tensor x, ReadOnlySpan<int> axes)
    {
        var input = Float(x, "Permute x");
        var order = new int[axes.Length];
        var seen = new bool[input.Rank];
        bool ok = axes.Length == input.Rank;
        for (int i = 0; ok && i < axes.Length; i++)
        {
            ok = axes[i] >= -input.Rank && axes[i] < input.Rank;
            if (!ok) break;
            order[i] = axes[i] < 0 ? axes[i] + input.Rank : axes[i];
            ok = !seen[order[i]];
            seen[order[i]] = true;
        }
        if (!ok)
            throw new TensorMismatchException("Permute axes", $"a permutation of the {input.Rank} axes of {Describe(input)}", Shape.Format(axes));
        var dims = new int[order.Length];
        for (int i = 0; i < order.Length; i++) dims[i] = input.Shape[order[i]];
        return (input, order, new Shape(dims));
    }

    /// <summary>The input, the axis in [0, rank), and the shape without that axis.</summary>
    public (T X, int Axis, Shape Output) Select(Tensor x, int axis, int index)
    {
        var input = Float(x, "Select x");
        int a = Axis(input, axis, "Select axis");
        if (index < 0 || index >= input.Shape[a])
            throw new TensorMismatchException("Select index", $"an index in [0, {input.Shape[a]}) along axis {a}", $"{index} for {Describe(input)}");
        var dims = input.Shape.ToArray().ToList();
        dims.RemoveAt(a);
        return (input, a, new Shape([.. dims]));
    }

    /// <summary>The input and one shift per axis in [0, n) (0 where it is not rolled).</summary>
    public (T X, int[] Shifts) Roll(Tensor x, int shift, ReadOnlySpan<int> axes)
    {
        var input = Float(x, "Roll x");
        var shifts = new int[input.Rank];
        // Shifts on a repeated axis add up, as successive rolls would; the modulo keeps the sum small.
        foreach (int axis in axes)
        {
            int a = Axis(input, axis, "Roll axes");
            int n = Math.Max(input.Shape[a], 1);
            shifts[a] = (int)(((long)shifts[a] + shift) % n);
        }
        return (input, shifts);
    }

    public (T X, Shape Output) WindowPartition(Tensor x, int window)
    {
        Positive(window, nameof(window));
        var input = MinRank(x, "WindowPartition x", 4, "[B, H, W, C]");
        Image(input, "WindowPartition x", window, $"H and W multiples of the window {window}");
        int b = input.Shape[0], h = input.Shape[1], w = input.Shape[2];
        return (input, new Shape(b * (h / window) * (w / window), window * window, input.Shape[3]));
    }

    public (T X, Shape Output) WindowReverse(Tensor x, int window, int height, int width)
    {
        Positive(window, nameof(window));
        Positive(height, nameof(height));
        Positive(width, nameof(width));
        if (height % window != 0 || width % window != 0)
            throw new ArgumentException($"WindowReverse: height {height} and width {width} must be multiples of the window {window}");
        int windows = height / window * (width / window);
        var input = Dims(x, "WindowReverse x", x.DType, -1, window * window, -1);
        if (input.Shape[0] % windows != 0)
            throw new TensorMismatchException("WindowReverse x", $"a first dim that is a multiple of {windows} windows ({height}×{width} image, window {window})", Describe(input));
        return (input, new Shape(input.Shape[0] / windows, height, width, input.Shape[2]));
    }

    public (T X, Shape Output) PatchMerging(Tensor x)
    {
        var input = MinRank(x, "PatchMerging x", 4, "[B, H, W, C]");
        Image(input, "PatchMerging x", 2, "even H and W");
        var s = input.Shape;
        return (input, new Shape(s[0], s[1] / 2, s[2] / 2, 4 * s[3]));
    }

    public (T X, Shape Output) Patchify(Tensor x, int patch)
    {
        Positive(patch, nameof(patch));
        var input = MinRank(x, "Patchify x", 4, "[B, C, H, W]");
        var s = input.Shape;
        if (input.Rank != 4 || s[2] % patch != 0 || s[3] % patch != 0)
            throw new TensorMismatchException("Patchify x", $"{input.DType.ShortName()}[B, C, H, W] with H and W multiples of the patch {patch}", Describe(input));
        return (input, new Shape(s[0], s[2] / patch, s[3] / patch, s[1] * patch * patch));
    }

    public (T X, Shape Output) Mean(Tensor x, int firstAxis, int count)
    {
        var input = Float(x, "Mean x");
        if (count < 1 || firstAxis < 0 || firstAxis + count > input.Rank)
            throw new TensorMismatchException("Mean x", $"axes [{firstAxis}, {firstAxis + count}) to exist", Describe(input));
        var dims = input.Shape.ToArray().ToList();
        dims.RemoveRange(firstAxis, count);
        return (input, new Shape([.. dims]));
    }

    public (T Table, Shape Output) RelativePositionBias(Tensor table, int window)
    {
        Positive(window, nameof(window));
        int span = 2 * window - 1;
        var input = Dims(table, "RelativePositionBias table", table.DType, span * span, -1);
        int tokens = window * window;
        return (input, new Shape(input.Shape[1], tokens, tokens));
    }

    /// <summary>A qkv Linear's weight [3·heads·d, K] or bias [3·heads·d], d ≥ 1.</summary>
    public T QkvRelayout(Tensor x, int heads)
    {
        Positive(heads, nameof(heads));
        var input = Float(x, "QkvRelayout x");
        long group = 3L * heads;
        if (input.Rank is not (1 or 2) || input.Shape[0] == 0 || input.Shape[0] % group != 0)
            throw new TensorMismatchException("QkvRelayout x",
                $"{input.DType.ShortName()}[3·{heads}·d, K] or [3·{heads}·d] (first dim a positive multiple of {group})", Describe(input));
        return input;
    }

    /// <summary>Requires a rank-4 [B, H, W, C] tensor whose H and W are multiples of <paramref name="multiple"/>.</summary>
    private static void Image(T x, string what, int multiple, string requirement)
    {
        if (x.Rank != 4 || x.Shape[1] % multiple != 0 || x.Shape[2] % multiple != 0)
            throw new TensorMismatchException(what, $"{x.DType.ShortName()}[B, H, W, C] with {requirement}", Describe(x));
    }
}
