using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using Fusion.Kernels.Cpu;

namespace Fusion;

/// <summary>
/// The CPU backend's float16 copies of parameters. Float32 needs no copy (the parameter's host
/// tensor is used as is); a float16 copy is made on first use and rebuilt when the parameter's
/// version moves on. Every tensor handed out is remembered with its parameter, so a GEMM given one
/// as its weight can use that weight packed once (<see cref="PackedWeight"/>) instead of packing it
/// on every call. The same holds for the constants a compiled plan derives from its parameters (<see cref="AdoptConstants"/>),
/// each adoption a new mark, so a rebuilt constant is packed again. Entries die with their parameter or tensor (weak keys).
/// </summary>
internal sealed class ParameterCache
{
    private readonly ConditionalWeakTable<Parameter, Entry> _copies = new();
    private readonly ConditionalWeakTable<CpuTensor, Parameter> _owners = new();
    private readonly ConditionalWeakTable<CpuTensor, ConstantMark> _constants = new();
    private readonly ConditionalWeakTable<CpuTensor, Packed> _packed = new();
    private readonly Lock _lock = new();

    public Tensor Get(Parameter parameter, DType dtype)
    {
        if (dtype == DType.Float32)
        {
            _owners.TryAdd(parameter.Value, parameter); // no-op when already known
            return parameter.Value;
        }
        if (dtype != DType.Float16)
            throw new TensorMismatchException("Param dtype", "f32 or f16", dtype.ShortName());
        lock (_lock)
        {
            if (_copies.TryGetValue(parameter, out var entry) && entry.Version == parameter.Version) return entry.Copy;
            entry?.Copy.Dispose();
            var copy = CpuTensor.Zeros(DType.Float16, parameter.Shape);
            TensorPrimitives.ConvertToHalf(parameter.Value.Span<float>(), copy.Span<Half>());
            _copies.AddOrUpdate(parameter, new Entry(parameter.Version, copy));
            _owners.AddOrUpdate(copy, parameter);
            return copy;
        }
    }

    /// <summary>
    /// <paramref name="weight"/> [N, K] packed as the right operand of x·weightᵀ, when it is a parameter tensor this cache
    /// handed out (in its own dtype's values); packed on first use and again when the parameter's version moves on. Null for
    /// any other tensor (activations, constants), which the GEMM packs as it goes.
    /// </summary>
    public PackedMatrix? PackedWeight(CpuTensor weight)
    {
        if (weight.Rank != 2) return null;
        int version = 0;
        ConstantMark? mark = null;
        if (_owners.TryGetValue(weight, out var parameter)) version = parameter.Version;
        else if (!_constants.TryGetValue(weight, out mark)) return null;
        lock (_lock)
        {
            if (_packed.TryGetValue(weight, out var entry) && entry.Version == version && entry.Mark == mark) return entry.Matrix;
            using var values = new FloatInput(weight);
            var matrix = Gemm.Pack(values.Span, weight.Shape[0], weight.Shape[1], transposeB: true);
            _packed.AddOrUpdate(weight, new Packed(version, mark, matrix));
            return matrix;
        }
    }

    /// <summary>
    /// Marks <paramref name="values"/> as a plan's constants (<see cref="IBackend.AdoptConstants"/>): their values stay as they are
    /// until they are disposed or adopted again, so <see cref="PackedWeight"/> may pack them once. A new adoption is a new mark.
    /// </summary>
    public void AdoptConstants(IEnumerable<CpuTensor> values)
    {
        var mark = new ConstantMark();
        foreach (var value in values) _constants.AddOrUpdate(value, mark);
    }

    private sealed record Entry(int Version, CpuTensor Copy);

    /// <summary>One adoption of constants; compared by identity.</summary>
    private sealed class ConstantMark;

    private sealed record Packed(int Version, ConstantMark? Mark, PackedMatrix Matrix);
}
