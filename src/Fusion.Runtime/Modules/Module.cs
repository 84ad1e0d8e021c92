namespace Fusion;

/// <summary>
/// Base of every model and sub-module. A module holds its parameters and sub-modules as
/// readonly fields (named like the PyTorch state-dict keys they load from) and declares a
/// <c>Forward</c> method written with the operators of <see cref="F"/>.
/// Calling <c>Forward</c> runs eagerly on the CPU; the source generator compiles the same
/// body into a fused plan for classes marked <see cref="FusedModelAttribute"/>.
/// </summary>
public abstract class Module
{
    /// <summary>
    /// Builds a list of <paramref name="count"/> sub-modules (state-dict keys <c>name.0</c>, <c>name.1</c>, …).
    /// The generator evaluates the lambda for each index, so its arguments must be constant expressions of the index.
    /// </summary>
    protected static T[] Repeat<T>(int count, Func<int, T> create)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var items = new T[count];
        for (int i = 0; i < count; i++) items[i] = create(i);
        return items;
    }
}
