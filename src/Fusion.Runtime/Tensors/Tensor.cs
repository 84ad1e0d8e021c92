namespace Fusion;

/// <summary>
/// A dense, row-major tensor owned by one backend. Lifetimes are explicit: every tensor
/// an operation returns must be disposed by its caller; using a disposed tensor throws.
/// </summary>
public abstract class Tensor : IDisposable
{
    protected Tensor(Shape shape, DType dtype)
    {
        Shape = shape;
        DType = dtype;
    }

    public Shape Shape { get; }

    public DType DType { get; }

    public abstract DeviceKind Device { get; }

    public int Rank => Shape.Rank;

    public long ElementCount => Shape.ElementCount;

    public long SizeInBytes => ElementCount * DType.SizeInBytes();

    public bool IsDisposed { get; private set; }

    public void Dispose()
    {
        if (IsDisposed) return;
        IsDisposed = true;
        Release();
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees (or returns to a pool) the memory behind this tensor. Called once.</summary>
    protected abstract void Release();

    public void ThrowIfDisposed()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
    }

    /// <summary>Throws a <see cref="TensorMismatchException"/> naming <paramref name="what"/> unless shape and dtype match.</summary>
    public void Expect(string what, Shape shape, DType dtype)
    {
        if (Shape != shape || DType != dtype)
            throw new TensorMismatchException(what, $"{dtype.ShortName()}{shape}", $"{DType.ShortName()}{Shape}");
    }

    public override string ToString() => $"{Device} {DType.ShortName()}{Shape}";
}
