using Fusion.Kernels.Cpu;
using static Fusion.OperandChecks;

namespace Fusion;

/// <summary>
/// The reference-quality eager backend: every operator of <see cref="IBackend"/> on host memory,
/// float32 and float16 (computed in float32, rounded once on store). This file checks operands
/// and works out result shapes; the arithmetic lives in the *Ops classes and Fusion.Kernels.Cpu.
/// </summary>
public sealed class CpuBackend : IBackend
{
    private readonly ParameterCache _parameters = new();

    private CpuBackend()
    {
    }

    public static CpuBackend Instance { get; } = new();

    public string Name => "cpu";

    public DeviceKind Device => DeviceKind.Cpu;

    public Tensor Param(Parameter parameter, DType dtype)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        return _parameters.Get(parameter, dtype);
    }

    public Tensor FromHost(CpuTensor host) => ElementwiseOps.Copy(Host(host, "FromHost host"));

    public CpuTensor ToHost(Tensor tensor) => ElementwiseOps.Copy(Host(tensor, "ToHost tensor"));

    public Tensor Cast(Tensor x, DType dtype)
    {
        var input = Float(x, "Cast x");
        if (dtype is not (DType.Float32 or DType.Float16))
            throw new TensorMismatchException("Cast dtype", "f32 or f16", dtype.ShortName());
        return ElementwiseOps.Cast(input, dtype);
    }

    public Tensor Linear(Tensor x, Tensor weight, Tensor? bias)
    {
        var input = MinRank(x, "Linear x", 1, "[..., K]");
        int k = input.Shape[-1];
        var w = Dims(weight, "Linear weight", input.DType, -1, k);
        int n = w.Shape[0];
        var b = bias is null ? null : Dims(bias, "Linear bias", input.DType, n);
        return MatrixOps.Linear(input, w, b, input.Shape.With(-1, n));
    }

    public Tensor MatMul(Tensor a, Tensor b, bool transposeB)
    {
        var left = MinRank(a, "MatMul a", 2, "[..., M, K]");
        int k = left.Shape[-1];
        var right = MinRank(b, "MatMul b", 2, transposeB ? "[..., N, K]" : "[..., K, N]");
        // b is either one matrix shared by the batch or a batch with exactly a's leading dims.
        var pattern = right.Rank == 2 ? new int[2] : left.Shape.ToArray();
        pattern[^2] = transposeB ? -1 : k;
        pattern[^1] = transposeB ? k : -1;
        Dims(right, "MatMul b", left.DType, pattern);
        int n = transposeB ? right.Shape[-2] : right.Shape[-1];
        return MatrixOps.MatMul(left, right, transposeB, left.Shape.With(-1, n));
    }

    public Tensor Add(Tensor a, Tensor b)
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
        return ElementwiseOps.Add(left, right, new Shape(dims));
    }

    public Tensor Mul(Tensor x, float scalar) => ElementwiseOps.Mul(Float(x, "Mul x"), scalar);

    public Tensor Gelu(Tensor x) => ElementwiseOps.Gelu(Float(x, "Gelu x"));

    public Tensor Relu(Tensor x) => ElementwiseOps.Relu(Float(x, "Relu x"));

    public Tensor LayerNorm(Tensor x, Tensor weight, Tensor bias, float eps)
    {
        var input = MinRank(x, "LayerNorm x", 1, "[..., C]");
        int c = input.Shape[-1];
        var w = Dims(weight, "LayerNorm weight", input.DType, c);
        var b = Dims(bias, "LayerNorm bias", input.DType, c);
        return NormalizationOps.LayerNorm(input, w, b, eps);
    }

    public Tensor Softmax(Tensor x) => NormalizationOps.Softmax(MinRank(x, "Softmax x", 1, "[..., N]"));

    public Tensor Reshape(Tensor x, Shape shape)
    {
        var input = Float(x, "Reshape x");
        if (shape.ElementCount != input.ElementCount)
            throw new TensorMismatchException("Reshape x", $"{shape.ElementCount} elements to fill {shape}", Describe(input));
        return input.View(shape);
    }

    public Tensor Permute(Tensor x, ReadOnlySpan<int> axes)
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
        return LayoutOps.Permute(input, order, new Shape(dims));
    }

    public Tensor Select(Tensor x, int axis, int index)
    {
        var input = Float(x, "Select x");
        int a = Axis(input, axis, "Select axis");
        if (index < 0 || index >= input.Shape[a])
            throw new TensorMismatchException("Select index", $"an index in [0, {input.Shape[a]}) along axis {a}", $"{index} for {Describe(input)}");
        var dims = input.Shape.ToArray().ToList();
        dims.RemoveAt(a);
        return LayoutOps.Select(input, a, index, new Shape([.. dims]));
    }

    public Tensor Roll(Tensor x, int shift, ReadOnlySpan<int> axes)
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
        return LayoutOps.Roll(input, shifts);
    }

    public Tensor WindowPartition(Tensor x, int window)
    {
        Positive(window, nameof(window));
        var input = MinRank(x, "WindowPartition x", 4, "[B, H, W, C]");
        CheckImage(input, "WindowPartition x", window, $"H and W multiples of the window {window}");
        int b = input.Shape[0], h = input.Shape[1], w = input.Shape[2];
        return LayoutOps.WindowPartition(input, window, new Shape(b * (h / window) * (w / window), window * window, input.Shape[3]));
    }

    public Tensor WindowReverse(Tensor x, int window, int height, int width)
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
        return LayoutOps.WindowReverse(input, window, new Shape(input.Shape[0] / windows, height, width, input.Shape[2]));
    }

    public Tensor PatchMerging(Tensor x)
    {
        var input = MinRank(x, "PatchMerging x", 4, "[B, H, W, C]");
        CheckImage(input, "PatchMerging x", 2, "even H and W");
        var s = input.Shape;
        return LayoutOps.PatchMerging(input, new Shape(s[0], s[1] / 2, s[2] / 2, 4 * s[3]));
    }

    public Tensor Patchify(Tensor x, int patch)
    {
        Positive(patch, nameof(patch));
        var input = MinRank(x, "Patchify x", 4, "[B, C, H, W]");
        var s = input.Shape;
        if (input.Rank != 4 || s[2] % patch != 0 || s[3] % patch != 0)
            throw new TensorMismatchException("Patchify x", $"{input.DType.ShortName()}[B, C, H, W] with H and W multiples of the patch {patch}", Describe(input));
        return LayoutOps.Patchify(input, patch, new Shape(s[0], s[2] / patch, s[3] / patch, s[1] * patch * patch));
    }

    public Tensor Mean(Tensor x, int firstAxis, int count)
    {
        var input = Float(x, "Mean x");
        if (count < 1 || firstAxis < 0 || firstAxis + count > input.Rank)
            throw new TensorMismatchException("Mean x", $"axes [{firstAxis}, {firstAxis + count}) to exist", Describe(input));
        var dims = input.Shape.ToArray().ToList();
        dims.RemoveRange(firstAxis, count);
        return NormalizationOps.Mean(input, firstAxis, count, new Shape([.. dims]));
    }

    public Tensor RelativePositionBias(Tensor table, int window)
    {
        Positive(window, nameof(window));
        int span = 2 * window - 1;
        var input = Dims(table, "RelativePositionBias table", table.DType, span * span, -1);
        int tokens = window * window;
        return LayoutOps.RelativePositionBias(input, window, new Shape(input.Shape[1], tokens, tokens));
    }

    public Tensor ShiftedWindowMask(int height, int width, int window, int shift, DType dtype)
    {
        Positive(window, nameof(window));
        Positive(height, nameof(height));
        Positive(width, nameof(width));
        if (height % window != 0 || width % window != 0)
            throw new ArgumentException($"ShiftedWindowMask: height {height} and width {width} must be multiples of the window {window}");
        if (shift < 0 || shift >= window)
            throw new ArgumentOutOfRangeException(nameof(shift), shift, $"ShiftedWindowMask: shift must be in [0, {window})");
        if (dtype is not (DType.Float32 or DType.Float16))
            throw new TensorMismatchException("ShiftedWindowMask dtype", "f32 or f16", dtype.ShortName());
        int tokens = window * window;
        using var y = new FloatOutput(dtype, new Shape(height / window * (width / window), tokens, tokens));
        SwinAttention.ShiftedWindowMask(y.Span, height, width, window, shift);
        return y.Finish();
    }

    /// <summary>Requires a rank-4 [B, H, W, C] tensor whose H and W are multiples of <paramref name="multiple"/>.</summary>
    private static void CheckImage(CpuTensor x, string what, int multiple, string requirement)
    {
        if (x.Rank != 4 || x.Shape[1] % multiple != 0 || x.Shape[2] % multiple != 0)
            throw new TensorMismatchException(what, $"{x.DType.ShortName()}[B, H, W, C] with {requirement}", Describe(x));
    }

    public Tensor FusedLinear(Tensor x, Tensor weight, Tensor? bias, Activation activation, Tensor? residual, FusedKernel kernel) =>
        FusedOps.FusedLinear(x, weight, bias, activation, residual, kernel);

    public Tensor BiasResidual(Tensor x, Tensor bias, Tensor residual, FusedKernel kernel) => FusedOps.BiasResidual(x, bias, residual, kernel);

    public Tensor LayerNormWindowPartition(Tensor x, Tensor weight, Tensor bias, float eps, int window, int shift, FusedKernel kernel) =>
        FusedOps.LayerNormWindowPartition(x, weight, bias, eps, window, shift, kernel);

    public Tensor WindowReverseResidual(Tensor x, Tensor residual, int window, int shift, FusedKernel kernel) =>
        FusedOps.WindowReverseResidual(x, residual, window, shift, kernel);

    public Tensor WindowAttention(Tensor qkv, Tensor bias, Tensor? mask, int heads, float scale, FusedKernel kernel) =>
        FusedOps.WindowAttention(qkv, bias, mask, heads, scale, kernel);
}
