using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace Fusion;

/// <summary>
/// The CPU backend's float16 copies of parameters. Float32 needs no copy (the parameter's host
/// tensor is used as is); a float16 copy is made on first use and rebuilt when the parameter's
/// version moves on. Entries die with their parameter (weak keys).
/// </summary>
internal sealed class ParameterCache
{
    private readonly ConditionalWeakTable<Parameter, Entry> _copies = new();
    private readonly Lock _lock = new();

    public Tensor Get(Parameter parameter, DType dtype)
    {
        if (dtype == DType.Float32) return parameter.Value;
        if (dtype != DType.Float16)
            throw new TensorMismatchException("Param dtype", "f32 or f16", dtype.ShortName());
        lock (_lock)
        {
            if (_copies.TryGetValue(parameter, out var entry) && entry.Version == parameter.Version) return entry.Copy;
            entry?.Copy.Dispose();
            var copy = CpuTensor.Zeros(DType.Float16, parameter.Shape);
            TensorPrimitives.ConvertToHalf(parameter.Value.Span<float>(), copy.Span<Half>());
            _copies.AddOrUpdate(parameter, new Entry(parameter.Version, copy));
            return copy;
        }
    }

    private sealed record Entry(int Version, CpuTensor Copy);
}
