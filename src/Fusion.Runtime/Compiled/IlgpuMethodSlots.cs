using System.Reflection;

namespace Fusion;

/// <summary>
/// A kernel's ILGPU methods by io type, each found by reflection once: launches ask for the method at every call, and a
/// reflection lookup there cost eager ILGPU runs far more than the launch itself. Races are benign: both find the same method.
/// </summary>
internal sealed class IlgpuMethodSlots
{
    private readonly Func<DType, MethodInfo?> _find;
    private (MethodInfo? Method, bool Found) _f32, _f16;

    public IlgpuMethodSlots(Func<DType, MethodInfo?> find) => _find = find;

    public MethodInfo? Get(DType io)
    {
        ref var slot = ref io == DType.Float16 ? ref _f16 : ref _f32;
        if (!slot.Found) slot = (_find(io), true);
        return slot.Method;
    }
}
