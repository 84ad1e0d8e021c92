namespace Fusion.Cuda;

/// <summary>
/// The parameter list of one kernel launch. Each value sits in its own 8-byte slot; the driver
/// reads as many bytes from a slot as the kernel's parameter type has (little-endian).
/// </summary>
public sealed class KernelArguments
{
    private readonly List<ulong> _slots = new();

    public int Count => _slots.Count;

    public KernelArguments Pointer(ulong devicePointer)
    {
        _slots.Add(devicePointer);
        return this;
    }

    public KernelArguments Pointer(CudaTensor tensor) => Pointer(tensor.Pointer);

    public KernelArguments Int(int value)
    {
        _slots.Add(unchecked((uint)value));
        return this;
    }

    public KernelArguments Long(long value)
    {
        _slots.Add(unchecked((ulong)value));
        return this;
    }

    public KernelArguments Float(float value)
    {
        _slots.Add(BitConverter.SingleToUInt32Bits(value));
        return this;
    }

    /// <summary>Appends every argument of <paramref name="more"/> after these.</summary>
    public KernelArguments Append(KernelArguments more)
    {
        ArgumentNullException.ThrowIfNull(more);
        _slots.AddRange(more._slots);
        return this;
    }

    internal ulong[] ToSlots() => _slots.ToArray();
}
