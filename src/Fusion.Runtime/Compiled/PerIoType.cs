namespace Fusion;

/// <summary>
/// A value of a kernel for each run input/output type (f32, f16), computed once each on first use: launches ask for a kernel's
/// ILGPU method and register allowance at every call, and a reflection lookup or a loop-IR analysis there cost eager runs far
/// more than the launch itself. Races are benign: both compute the same value.
/// </summary>
internal sealed class PerIoType<T>(Func<DType, T> compute)
{
    private (T Value, bool Known) _f32, _f16;

    public T Get(DType io)
    {
        ref var slot = ref io == DType.Float16 ? ref _f16 : ref _f32;
        if (!slot.Known) slot = (compute(io), true);
        return slot.Value;
    }
}
