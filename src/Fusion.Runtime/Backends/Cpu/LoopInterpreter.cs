using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Fusion.Compiler;
using Fusion.Kernels.Cpu;

namespace Fusion;

/// <summary>
/// Runs a kernel of the loop IR on the CPU: the CPU twin of every generated kernel, and of every operator a descriptor lowers
/// (the eager path). The kernel is walked row by row (a row: one point of every variable but the innermost, or the reduction
/// variable when there is one), rows spread over cores. Within a row each instruction is evaluated for the whole row at once
/// (a span of float32 values) or once (a value that does not vary along it); loads whose address moves one element at a time
/// along the row are copied as a block, others gathered. A reduction along a strided axis (the GPU printers' strided mapping: a
/// depthwise convolution's or a pooling's taps, a mean over tokens) is walked the other way round, as the GPU thread walks it: a row
/// runs along the innermost output variable (channels, contiguous) and the reduced axis is a loop of steps inside it, each step
/// evaluated for the whole row and combined into the row's accumulators, so a 7×7 depthwise convolution is 49 vector steps over
/// the channels of each pixel, not one 49-element row per channel; a step's offsets and guards are split into the row's part and
/// the step's (worked out once a call), and a product the sum alone reads is one fused multiply-add into the accumulator. A
/// contiguous, in-bounds block of an input is read in place, not copied. Loads convert to float32 and stores round to each buffer's
/// type once, as the printed kernels do. The plan of a kernel is <see cref="RowPlan"/> (LoopInterpreter.RowPlan.cs), a worker's
/// walk of its rows <see cref="RowState"/> (LoopInterpreter.RowState.cs).
/// </summary>
internal static unsafe partial class LoopInterpreter
{
    /// <summary>
    /// The kernel's outputs for <paramref name="inputs"/> (input and accumulator buffers, in order), a batch of <paramref name="batch"/>
    /// and the run's input/output type <paramref name="io"/>. Operands are checked by the caller.
    /// </summary>
    public static CpuTensor[] Run(LoopKernel kernel, long batch, DType io, IReadOnlyList<CpuTensor> inputs)
    {
        var buffers = kernel.Buffers;
        var outputs = new List<CpuTensor>();
        var accumulated = kernel.AccumulatedBuffers.ToHashSet();
        var data = new float[]?[buffers.Count];
        var pins = new List<GCHandle>();
        var pointers = new IntPtr[buffers.Count];
        try
        {
            int next = 0;
            for (int b = 0; b < buffers.Count; b++)
            {
                if (buffers[b].Role == BufferRole.Output)
                {
                    var type = Resolve(buffers[b].Type, io);
                    var shape = new Shape(buffers[b].Shape.Select(d => checked((int)d.At(batch))).ToArray());
                    // Every point of the domain stores, so all elements are written; an accumulated buffer (float32) is added into from zero.
                    var tensor = accumulated.Contains(b) ? CpuTensor.Zeros(type, shape) : CpuTensor.Uninitialized(type, shape);
                    outputs.Add(tensor);
                    data[b] = type == DType.Float32 ? null : ArrayPool<float>.Shared.Rent(checked((int)tensor.ElementCount));
                    pointers[b] = Pin(pins, data[b] ?? (object)tensor, tensor);
                }
                else
                {
                    var tensor = inputs[next++];
                    if (tensor.DType != DType.Float32)
                    {
                        data[b] = ArrayPool<float>.Shared.Rent(checked((int)tensor.ElementCount));
                        ToFloats(tensor, data[b].AsSpan(0, (int)tensor.ElementCount));
                    }
                    pointers[b] = Pin(pins, data[b] ?? (object)tensor, tensor);
                }
            }
            Execute(kernel, batch, pointers);
            int o = 0;
            for (int b = 0; b < buffers.Count; b++)
            {
                if (buffers[b].Role != BufferRole.Output) continue;
                var tensor = outputs[o++];
                if (data[b] is { } values) FromFloats(values.AsSpan(0, (int)tensor.ElementCount), tensor);
            }
            return outputs.ToArray();
        }
        catch
        {
            foreach (var t in outputs) t.Dispose();
            throw;
        }
        finally
        {
            foreach (var pin in pins) pin.Free();
            foreach (var array in data)
                if (array is not null) ArrayPool<float>.Shared.Return(array);
        }
    }

    public static DType Resolve(FloatType type, DType io) => type switch
    {
        FloatType.F16 => DType.Float16,
        FloatType.F32 => DType.Float32,
        FloatType.I8 => DType.Int8,
        FloatType.F8 => DType.Float8E4M3,
        _ => io,
    };

    /// <summary>A float16, int8 or FP8 input as float32 (int8 and FP8 codes are exact).</summary>
    private static void ToFloats(CpuTensor tensor, Span<float> values)
    {
        switch (tensor.DType)
        {
            case DType.Float16: TensorPrimitives.ConvertToSingle(tensor.Span<Half>(), values); break;
            case DType.Int8:
                {
                    var codes = tensor.Span<sbyte>();
                    for (int i = 0; i < codes.Length; i++) values[i] = codes[i];
                    break;
                }
            case DType.Float8E4M3: Fusion.Quantization.Float8E4M3.Decode(tensor.Span<byte>(), values); break;
            default: throw new FusionException($"a generated kernel reads {tensor.DType.ShortName()}, which the CPU loop interpreter does not convert");
        }
    }

    /// <summary>
    /// Rounds float32 results once into an f16, int8 or FP8 output (int8: half to even, saturated to ±127; FP8: E4M3, ties to even,
    /// saturated to ±448; as the GPU's stores).
    /// </summary>
    private static void FromFloats(ReadOnlySpan<float> values, CpuTensor tensor)
    {
        if (tensor.DType == DType.Float16)
        {
            TensorPrimitives.ConvertToHalf(values, tensor.Span<Half>());
            return;
        }
        if (tensor.DType == DType.Float8E4M3)
        {
            Fusion.Quantization.Float8E4M3.Quantize(values, 1f, tensor.Span<byte>()); // × 1 is exact: the codes of the values
            return;
        }
        var codes = tensor.Span<sbyte>();
        for (int i = 0; i < codes.Length; i++) codes[i] = (sbyte)ScalarMath.RoundI8(values[i]);
    }

    /// <summary>Pins a float32 array, or a float32 tensor's storage, for the workers.</summary>
    private static IntPtr Pin(List<GCHandle> pins, object owner, CpuTensor tensor)
    {
        if (owner is float[] array)
        {
            var handle = GCHandle.Alloc(array, GCHandleType.Pinned);
            pins.Add(handle);
            return handle.AddrOfPinnedObject();
        }
        var bytes = tensor.RawStorage;
        var h = GCHandle.Alloc(bytes, GCHandleType.Pinned);
        pins.Add(h);
        return h.AddrOfPinnedObject();
    }

    private static void Execute(LoopKernel kernel, long batch, IntPtr[] pointers)
    {
        var plan = new RowPlan(kernel, batch);
        long rows = plan.Rows(batch);
        if (rows == 0 || plan.Length == 0) return;
        int chunk = (int)Math.Max(1, Math.Min(rows, 4096 / Math.Max(1, plan.RowElements)));
        long blocks = (rows + chunk - 1) / chunk;
        if (blocks > int.MaxValue) throw new FusionException($"{kernel.Name}: {rows} rows are more than the CPU backend walks in one call");
        Parallelism.For((int)blocks, (long)chunk * plan.RowElements * plan.Steps * Math.Max(1, kernel.Body.Count), (start, end) =>
        {
            using var state = new RowState(plan, pointers, batch);
            for (long block = start; block < end; block++)
            {
                long last = Math.Min(rows, (block + 1) * chunk);
                for (long row = block * chunk; row < last; row++) state.Run(row);
            }
        });
    }
}
