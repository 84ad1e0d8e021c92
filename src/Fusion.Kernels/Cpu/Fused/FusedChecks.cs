namespace Fusion.Kernels.Cpu.Fused;

/// <summary>Argument checks shared by the fused twins: they take raw spans, so sizes are checked before any pointer math.</summary>
internal static class FusedChecks
{
    /// <summary>Requires every size to be positive (a zero-sized fused op is a caller bug, not an empty result).</summary>
    public static void Positive(int value, string name)
    {
        if (value <= 0) throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive");
    }

    /// <summary>Requires <paramref name="length"/> to hold at least <paramref name="needed"/> elements.</summary>
    public static void Holds(int length, long needed, string name)
    {
        if (length < needed) throw new ArgumentException($"{name} holds {length} elements, needs {needed}", name);
    }

    /// <summary>Requires an optional operand to be empty (absent) or to hold exactly <paramref name="needed"/> elements.</summary>
    public static void Optional(int length, long needed, string name)
    {
        if (length != 0 && length != needed) throw new ArgumentException($"{name} holds {length} elements, needs 0 (none) or {needed}", name);
    }
}
