using System.Collections;

namespace Fusion;

/// <summary>An immutable, row-major tensor shape. Equality is by value.</summary>
public readonly struct Shape : IEquatable<Shape>, IReadOnlyList<int>
{
    private readonly int[]? _dims;
    private readonly long _elementCount;

    public Shape(params int[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        foreach (var d in dims)
        {
            if (d < 0)
                throw new ArgumentException($"shape {Format(dims)} has a negative dimension", nameof(dims));
        }
        _dims = (int[])dims.Clone();
        _elementCount = CheckedProduct(_dims);
    }

    public Shape(ReadOnlySpan<int> dims) : this(dims.ToArray()) { }

    public int Rank => _dims?.Length ?? 0;

    /// <summary>Number of elements (1 for a scalar, including <c>default(Shape)</c>); overflow-checked at construction.</summary>
    public long ElementCount => _dims is null ? 1 : _elementCount;

    public int this[int axis] => (_dims ?? [])[axis < 0 ? axis + Rank : axis];

    public int Count => Rank;

    public ReadOnlySpan<int> Dims => _dims;

    public int[] ToArray() => _dims is null ? [] : (int[])_dims.Clone();

    /// <summary>Product of the dimensions in [start, end).</summary>
    public long Product(int start, int end)
    {
        long p = 1;
        for (int i = start; i < end; i++) p = checked(p * this[i]);
        return p;
    }

    /// <summary>Replaces the dimension at <paramref name="axis"/>.</summary>
    public Shape With(int axis, int value)
    {
        var d = ToArray();
        d[axis < 0 ? axis + d.Length : axis] = value;
        return new Shape(d);
    }

    public bool Equals(Shape other) => Dims.SequenceEqual(other.Dims);

    public override bool Equals(object? obj) => obj is Shape s && Equals(s);

    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var d in Dims) h.Add(d);
        return h.ToHashCode();
    }

    public static bool operator ==(Shape a, Shape b) => a.Equals(b);

    public static bool operator !=(Shape a, Shape b) => !a.Equals(b);

    public override string ToString() => Format(Dims);

    public IEnumerator<int> GetEnumerator() => ((IEnumerable<int>)(_dims ?? [])).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public static implicit operator Shape(int[] dims) => new(dims);

    internal static string Format(ReadOnlySpan<int> dims) => "[" + string.Join(", ", dims.ToArray()) + "]";

    private static long CheckedProduct(int[] dims)
    {
        long p = 1;
        foreach (var d in dims)
        {
            try { p = checked(p * d); }
            catch (OverflowException) { throw new ArgumentException($"shape {Format(dims)} has more elements than fit in 64 bits"); }
        }
        return p;
    }
}
