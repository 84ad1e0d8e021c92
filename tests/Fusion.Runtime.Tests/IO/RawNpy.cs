using System.Buffers.Binary;
using System.Text;

namespace Fusion.Runtime.Tests.IO;

/// <summary>Builds .npy bytes by hand in any format version, with any header text and data.</summary>
internal static class RawNpy
{
    public static byte[] Build(int major, string header, byte[] data, int minor = 0, Encoding? encoding = null)
    {
        var headerBytes = (encoding ?? Encoding.Latin1).GetBytes(header);
        int lengthSize = major == 1 ? 2 : 4;
        using var stream = new MemoryStream();
        stream.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)major, (byte)minor]);
        var length = new byte[lengthSize];
        if (major == 1) BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)headerBytes.Length);
        else BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)headerBytes.Length);
        stream.Write(length);
        stream.Write(headerBytes);
        stream.Write(data);
        return stream.ToArray();
    }

    /// <summary>A numpy-style header dict for <paramref name="descr"/> and <paramref name="shape"/>, ending in a newline.</summary>
    public static string Header(string descr, string shape, string fortran = "False") =>
        $"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}\n";

    public static byte[] Floats(params float[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
        return bytes;
    }
}
