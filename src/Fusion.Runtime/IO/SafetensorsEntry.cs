using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Fusion.IO;

/// <summary>A tensor to write: its name, on-disk dtype, shape and raw little-endian bytes.</summary>
public readonly record struct SafetensorsEntry(string Name, SafetensorsDType DType, int[] Shape, ReadOnlyMemory<byte> Data)
{
    /// <summary>The tensor's bytes as they are (f32, f16, i8 or i32).</summary>
    public static SafetensorsEntry FromTensor(string name, CpuTensor tensor) =>
        new(name, tensor.DType.ToSafetensors(), tensor.Shape.ToArray(), tensor.Bytes.ToArray());

    /// <summary>float32 values stored as F32, F16 or BF16 (rounded to nearest even).</summary>
    public static SafetensorsEntry FromFloat32(string name, ReadOnlySpan<float> values, int[] shape, SafetensorsDType dtype)
    {
        byte[] bytes;
        switch (dtype)
        {
            case SafetensorsDType.F32:
                bytes = new byte[values.Length * 4];
                for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
                break;
            case SafetensorsDType.F16:
                bytes = new byte[values.Length * 2];
                for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(2 * i), (Half)values[i]);
                break;
            case SafetensorsDType.BF16:
                bytes = new byte[values.Length * 2];
                for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 * i), ElementConversion.ToBFloat16(values[i]));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "float32 values are written as F32, F16 or BF16");
        }
        return new SafetensorsEntry(name, dtype, shape, bytes);
    }

    /// <summary>A parameter's current values, stored as <paramref name="dtype"/>.</summary>
    public static SafetensorsEntry FromParameter(string name, Parameter parameter, SafetensorsDType dtype = SafetensorsDType.F32) =>
        FromFloat32(name, MemoryMarshal.Cast<byte, float>(parameter.Value.Bytes), parameter.Shape.ToArray(), dtype);
}
