namespace Fusion.Testing;

/// <summary>
/// An integer field of a seed file that a reader trusts: a length, an offset or a dimension.
/// The fuzzer rewrites such fields with boundary values, which random byte flips rarely produce.
/// </summary>
public readonly record struct FuzzField(int Offset, int Size, bool BigEndian);

/// <summary>A valid file the fuzzer mutates, with the integer fields worth aiming at (may be empty).</summary>
public sealed record FuzzSeed(string Name, byte[] Bytes, IReadOnlyList<FuzzField> Fields)
{
    public FuzzSeed(string name, byte[] bytes) : this(name, bytes, []) { }
}
