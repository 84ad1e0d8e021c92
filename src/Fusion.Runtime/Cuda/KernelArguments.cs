namespace Fusion.Cuda;

/// <summary>
/// The parameter list of one kernel launch. Each value sits in its own 8-byte slot (a 16-byte ILGPU array view in two); the
/// driver reads as many bytes from a parameter's first slot on as the kernel's parameter type has (little-endian).
/// </summary>
public sealed class KernelArguments
{
    private readonly List<ulong> _slots = new();
    private readonly List<int> _starts = new();

    /// <summary>Parameters so far.</summary>
    public int Count => _starts.Count;

    public KernelArguments Pointer(ulong devicePointer) => Add(devicePointer);

    /// <summary>An ILGPU <c>ArrayView&lt;T&gt;</c> parameter: the 16-byte {pointer, length in elements} its kernels take.</summary>
    public KernelArguments View(ulong devicePointer, long length)
    {
        _starts.Add(_slots.Count);
        _slots.Add(devicePointer);
        _slots.Add(unchecked((ulong)length));
        return this;
    }

    private KernelArguments Add(ulong slot)
    {
        _starts.Add(_slots.Count);
        _slots.Add(slot);
        return this;
    }

    public KernelArguments Pointer(CudaTensor tensor) => Pointer(tensor.Pointer);

    /// <summary>A parameter passed by value in <paramref name="words"/>.Length slots: a struct such as a 128-byte <see cref="TensorMap"/>.</summary>
    public KernelArguments Struct(ReadOnlySpan<ulong> words)
    {
        if (words.IsEmpty) throw new ArgumentException("a struct parameter has at least one word", nameof(words));
        _starts.Add(_slots.Count);
        foreach (var word in words) _slots.Add(word);
        return this;
    }

    public KernelArguments Int(int value) => Add(unchecked((uint)value));

    public KernelArguments Long(long value) => Add(unchecked((ulong)value));

    public KernelArguments Float(float value) => Add(BitConverter.SingleToUInt32Bits(value));

    /// <summary>Appends every argument of <paramref name="more"/> after these.</summary>
    public KernelArguments Append(KernelArguments more)
    {
        ArgumentNullException.ThrowIfNull(more);
        foreach (var start in more._starts) _starts.Add(_slots.Count + start);
        _slots.AddRange(more._slots);
        return this;
    }

    internal ulong[] ToSlots() => _slots.ToArray();

    /// <summary>Each parameter's first slot.</summary>
    internal int[] Starts() => _starts.ToArray();
}
