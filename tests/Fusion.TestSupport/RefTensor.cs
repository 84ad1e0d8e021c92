using Fusion;

namespace Fusion.Testing;

/// <summary>
/// A float64 tensor for reference computations: plain row-major data and a shape, nothing shared
/// with the code under test. <see cref="Seed"/> remembers the random seed the data came from (carried
/// through reference ops) so tolerance failures can say how to reproduce them.
/// </summary>
public sealed class RefTensor
{
    public RefTensor(int[] shape, double[]? data = null)
    {
        Shape = (int[])shape.Clone();
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"negative dimension in [{string.Join(", ", shape)}]");
            count = checked(count * d);
        }
        Data = data ?? new double[count];
        if (Data.Length != count) throw new ArgumentException($"{Data.Length} values for shape [{string.Join(", ", shape)}] of {count} elements");
    }

    public int[] Shape { get; }

    public double[] Data { get; }

    public int Rank => Shape.Length;

    public int Count => Data.Length;

    /// <summary>The seed of the random data this tensor derives from, when known.</summary>
    public int? Seed { get; set; }

    public double this[params int[] index]
    {
        get => Data[Offset(index)];
        set => Data[Offset(index)] = value;
    }

    /// <summary>Row-major offset of a full index.</summary>
    public int Offset(int[] index)
    {
        if (index.Length != Rank) throw new ArgumentException($"index of rank {index.Length} for a tensor of rank {Rank}");
        int offset = 0;
        for (int i = 0; i < Rank; i++)
        {
            if (index[i] < 0 || index[i] >= Shape[i]) throw new IndexOutOfRangeException($"index {index[i]} on axis {i} of size {Shape[i]}");
            offset = offset * Shape[i] + index[i];
        }
        return offset;
    }

    /// <summary>A zero tensor that inherits the seed of the first of <paramref name="sources"/> that has one.</summary>
    public static RefTensor Derived(int[] shape, params RefTensor[] sources)
    {
        var result = new RefTensor(shape);
        foreach (var s in sources)
        {
            if (s.Seed is not null)
            {
                result.Seed = s.Seed;
                break;
            }
        }
        return result;
    }

    /// <summary>Every multi-index of <paramref name="shape"/> in row-major order (the array is reused between calls).</summary>
    public static IEnumerable<int[]> Indices(int[] shape)
    {
        foreach (int d in shape)
        {
            if (d == 0) yield break;
        }
        var index = new int[shape.Length];
        while (true)
        {
            yield return index;
            int axis = shape.Length - 1;
            while (axis >= 0 && ++index[axis] == shape[axis])
            {
                index[axis] = 0;
                axis--;
            }
            if (axis < 0) yield break;
        }
    }

    /// <summary>The values rounded as a tensor of <paramref name="dtype"/> would store them (float32 or float16).</summary>
    public RefTensor RoundedTo(DType dtype)
    {
        var result = Derived(Shape, this);
        for (int i = 0; i < Count; i++)
            result.Data[i] = dtype == DType.Float16 ? (double)(Half)Data[i] : (float)Data[i];
        return result;
    }

    /// <summary>A new CPU tensor of <paramref name="dtype"/> holding these values (rounded to it).</summary>
    public CpuTensor ToCpu(DType dtype = DType.Float32)
    {
        var values = new float[Count];
        for (int i = 0; i < Count; i++) values[i] = (float)Data[i];
        if (dtype == DType.Float32) return CpuTensor.FromArray(values, Shape);
        if (dtype != DType.Float16) throw new ArgumentException($"ToCpu supports f32 and f16, not {dtype.ShortName()}");
        var halves = new Half[Count];
        for (int i = 0; i < Count; i++) halves[i] = (Half)Data[i];
        return CpuTensor.FromArray(halves, Shape);
    }

    /// <summary>The values of any host tensor, widened to double.</summary>
    public static RefTensor FromCpu(CpuTensor tensor)
    {
        var values = tensor.ToFloatArray();
        var data = new double[values.Length];
        for (int i = 0; i < values.Length; i++) data[i] = values[i];
        return new RefTensor(tensor.Shape.ToArray(), data);
    }

    public override string ToString() => $"ref[{string.Join(", ", Shape)}]";
}
