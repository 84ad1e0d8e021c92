using System.Buffers;
using System.Numerics.Tensors;

namespace Fusion;

/// <summary>
/// The elements of a float tensor as float32, for kernels that only do float32 math:
/// the tensor's own storage when it is float32, a pooled converted copy when it is float16.
/// </summary>
internal readonly ref struct FloatInput
{
    private readonly float[]? _rented;

    public FloatInput(CpuTensor tensor)
    {
        if (tensor.DType == DType.Float32)
        {
            Span = tensor.Span<float>();
            return;
        }
        int n = checked((int)tensor.ElementCount);
        _rented = ArrayPool<float>.Shared.Rent(n);
        Span = _rented.AsSpan(0, n);
        TensorPrimitives.ConvertToSingle(tensor.Span<Half>(), _rented.AsSpan(0, n));
    }

    public ReadOnlySpan<float> Span { get; }

    public void Dispose()
    {
        if (_rented is not null) ArrayPool<float>.Shared.Return(_rented);
    }
}

/// <summary>
/// A new result tensor seen as float32 while a kernel writes it. For float16 the kernel writes a
/// pooled float32 buffer and <see cref="Finish"/> rounds it into the tensor once. Disposing
/// without finishing (a kernel threw) disposes the tensor so it does not leak.
/// </summary>
internal ref struct FloatOutput
{
    private readonly CpuTensor _tensor;
    private float[]? _rented;
    private bool _finished;

    public FloatOutput(DType dtype, Shape shape)
    {
        _tensor = CpuTensor.Uninitialized(dtype, shape); // the kernel writes every element
        if (dtype == DType.Float32)
        {
            Span = _tensor.Span<float>();
            return;
        }
        int n = checked((int)shape.ElementCount);
        _rented = ArrayPool<float>.Shared.Rent(n);
        Span = _rented.AsSpan(0, n);
    }

    public Span<float> Span { get; }

    /// <summary>Stores the float32 results (rounding to float16 if needed) and hands the tensor to the caller.</summary>
    public CpuTensor Finish()
    {
        if (_rented is not null)
        {
            TensorPrimitives.ConvertToHalf(Span, _tensor.Span<Half>());
            ArrayPool<float>.Shared.Return(_rented);
            _rented = null;
        }
        _finished = true;
        return _tensor;
    }

    public void Dispose()
    {
        if (_finished) return;
        if (_rented is not null) ArrayPool<float>.Shared.Return(_rented);
        _rented = null;
        _tensor.Dispose();
    }
}
