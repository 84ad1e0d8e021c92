namespace Fusion;

/// <summary>
/// The operator vocabulary a <c>Forward</c> method is written in (like torch.nn.functional).
/// The source generator reads calls to these methods; called directly they run eagerly on
/// <see cref="Eager"/> (the CPU backend unless changed), which is handy for debugging a model.
/// Every call returns a new tensor.
/// </summary>
public static class F
{
    /// <summary>The backend that eager calls run on.</summary>
    public static IBackend Eager { get; set; } = CpuBackend.Instance;

    public static Tensor Linear(Tensor x, Linear layer) =>
        Eager.Linear(x, Eager.Param(layer.weight, x.DType), layer.bias is null ? null : Eager.Param(layer.bias, x.DType));

    /// <summary>Patch embedding: [B, C, H, W] → [B, H/p, W/p, out] as a GEMM over patches.</summary>
    public static Tensor PatchConv(Tensor x, PatchConv layer)
    {
        using var patches = Eager.Patchify(x, layer.Patch);
        using var weight = Eager.Reshape(Eager.Param(layer.weight, x.DType), new Shape(layer.OutChannels, layer.InChannels * layer.Patch * layer.Patch));
        return Eager.Linear(patches, weight, Eager.Param(layer.bias, x.DType));
    }

    /// <summary>A parameter used directly as a tensor (a learned bias, position embedding or scale).</summary>
    public static Tensor Value(Parameter parameter)
    {
        var value = Eager.Param(parameter, DType.Float32);
        return Eager.Reshape(value, value.Shape); // a new tensor object: the backend keeps its own copy
    }

    public static Tensor MatMul(Tensor a, Tensor b, bool transposeB = false) => Eager.MatMul(a, b, transposeB);

    /// <summary>
    /// a + b with broadcasting. Eagerly, an f32 operand met with an f16 one is converted to f16 first, as
    /// the compiled plan converts parameters and constants (bias tables, masks) to the run's precision.
    /// </summary>
    public static Tensor Add(Tensor a, Tensor b)
    {
        if (a.DType == b.DType || !IsFloat(a.DType) || !IsFloat(b.DType)) return Eager.Add(a, b);
        if (a.DType == DType.Float32)
        {
            using var narrowed = Eager.Cast(a, DType.Float16);
            return Eager.Add(narrowed, b);
        }
        using var narrowedB = Eager.Cast(b, DType.Float16);
        return Eager.Add(a, narrowedB);
    }

    private static bool IsFloat(DType dtype) => dtype is DType.Float32 or DType.Float16;

    public static Tensor Mul(Tensor x, float scalar) => Eager.Mul(x, scalar);

    public static Tensor Gelu(Tensor x) => Eager.Gelu(x);

    public static Tensor Relu(Tensor x) => Eager.Relu(x);

    public static Tensor LayerNorm(Tensor x, LayerNorm norm) =>
        Eager.LayerNorm(x, Eager.Param(norm.weight, x.DType), Eager.Param(norm.bias, x.DType), norm.Eps);

    public static Tensor Softmax(Tensor x) => Eager.Softmax(x);

    /// <summary>New shape with the same elements; one dimension may be −1 and is inferred.</summary>
    public static Tensor Reshape(Tensor x, params int[] shape) => Eager.Reshape(x, ResolveShape(x.Shape, shape));

    public static Tensor Permute(Tensor x, params int[] axes) => Eager.Permute(x, axes);

    public static Tensor Select(Tensor x, int axis, int index) => Eager.Select(x, axis, index);

    public static Tensor Roll(Tensor x, int shift, params int[] axes) => Eager.Roll(x, shift, axes);

    public static Tensor WindowPartition(Tensor x, int window) => Eager.WindowPartition(x, window);

    public static Tensor WindowReverse(Tensor x, int window, int height, int width) => Eager.WindowReverse(x, window, height, width);

    public static Tensor PatchMerging(Tensor x) => Eager.PatchMerging(x);

    /// <summary>Mean over consecutive axes (e.g. the token axes), which are removed.</summary>
    public static Tensor Mean(Tensor x, params int[] axes)
    {
        if (axes.Length == 0) throw new ArgumentException("Mean needs at least one axis", nameof(axes));
        for (int i = 1; i < axes.Length; i++)
        {
            if (axes[i] != axes[i - 1] + 1) throw new ArgumentException($"Mean axes must be consecutive, got [{string.Join(", ", axes)}]", nameof(axes));
        }
        return Eager.Mean(x, axes[0], axes.Length);
    }

    public static Tensor RelativePositionBias(Parameter table, int window) => Eager.RelativePositionBias(Eager.Param(table, DType.Float32), window);

    public static Tensor ShiftedWindowMask(int height, int width, int window, int shift) =>
        Eager.ShiftedWindowMask(height, width, window, shift, DType.Float32);

    /// <summary>Replaces a single −1 in <paramref name="requested"/> by the size that keeps the element count.</summary>
    public static Shape ResolveShape(Shape input, ReadOnlySpan<int> requested)
    {
        var dims = requested.ToArray();
        int inferred = -1;
        long known = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] == -1)
            {
                if (inferred >= 0) throw new TensorMismatchException("reshape", "at most one -1 dimension", Shape.Format(dims));
                inferred = i;
            }
            else if (dims[i] < 0)
            {
                throw new TensorMismatchException("reshape", "dimensions ≥ 0 or -1", Shape.Format(dims));
            }
            else
            {
                known = checked(known * dims[i]);
            }
        }
        if (inferred >= 0)
        {
            if (known == 0 || input.ElementCount % known != 0)
                throw new TensorMismatchException("reshape", $"a shape whose element count divides {input.ElementCount} (input {input})", Shape.Format(dims));
            dims[inferred] = checked((int)(input.ElementCount / known));
        }
        var shape = new Shape(dims);
        if (shape.ElementCount != input.ElementCount)
            throw new TensorMismatchException("reshape", $"{input.ElementCount} elements (input {input})", $"{shape} ({shape.ElementCount} elements)");
        return shape;
    }
}
