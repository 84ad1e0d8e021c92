namespace Fusion;

/// <summary>
/// The storage a tensor and its views (reshapes) share, and how many of them use it: released once, when the last one is
/// disposed, so a view and its source may be disposed in any order.
/// </summary>
internal sealed class SharedStorage<T>(T value, Action<T>? release)
{
    private int _references = 1;

    public T Value { get; } = value;

    public void AddReference() => Interlocked.Increment(ref _references);

    public void RemoveReference()
    {
        if (Interlocked.Decrement(ref _references) == 0) release?.Invoke(Value);
    }
}
