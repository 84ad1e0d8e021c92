using System.Buffers.Binary;
using System.Text;

namespace Fusion.Runtime.Tests.IO;

/// <summary>Builds safetensors bytes by hand, so tests can write headers the writer would refuse.</summary>
internal static class RawSafetensors
{
    /// <summary>The 8-byte length, the header as UTF-8 and <paramref name="dataLength"/> bytes of data.</summary>
    public static byte[] Build(string headerJson, int dataLength) => Build(Encoding.UTF8.GetBytes(headerJson), new byte[dataLength]);

    public static byte[] Build(byte[] header, byte[] data) => Build((ulong)header.Length, header, data);

    /// <summary>With a declared header length that need not match the header's.</summary>
    public static byte[] Build(ulong declaredLength, byte[] header, byte[] data)
    {
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    /// <summary>One header entry: "name": {"dtype": …, "shape": …, "data_offsets": [begin, end]}.</summary>
    public static string Entry(string name, string dtype, string shape, long begin, long end) =>
        $"\"{name}\": {{\"dtype\": \"{dtype}\", \"shape\": {shape}, \"data_offsets\": [{begin}, {end}]}}";
}
