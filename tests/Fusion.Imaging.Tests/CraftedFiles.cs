using System.Buffers.Binary;

namespace Fusion.Imaging.Tests;

/// <summary>
/// Valid files with their declared dimensions rewritten, as an attacker would: a few hundred bytes that claim
/// an image of billions of pixels. The PNG's IHDR checksum is recomputed so only the dimensions are wrong.
/// </summary>
internal static class CraftedFiles
{
    /// <summary><paramref name="png"/> with IHDR (always the first chunk, at offset 8) declaring <paramref name="width"/>×<paramref name="height"/>.</summary>
    public static byte[] PngDeclaring(byte[] png, int width, int height)
    {
        var result = (byte[])png.Clone();
        BinaryPrimitives.WriteInt32BigEndian(result.AsSpan(16), width);
        BinaryPrimitives.WriteInt32BigEndian(result.AsSpan(20), height);
        // The CRC covers the chunk type and data: bytes 12 to 28; it is stored right after them.
        BinaryPrimitives.WriteUInt32BigEndian(result.AsSpan(29), Crc32(result.AsSpan(12, 17)));
        return result;
    }

    /// <summary><paramref name="jpeg"/> with its baseline frame header (SOF0) declaring <paramref name="width"/>×<paramref name="height"/>.</summary>
    public static byte[] JpegDeclaring(byte[] jpeg, ushort width, ushort height)
    {
        var result = (byte[])jpeg.Clone();
        int sof = result.AsSpan().IndexOf([(byte)0xFF, (byte)0xC0]);
        if (sof < 0) throw new InvalidOperationException("the JPEG has no baseline frame header");
        // FF C0, length (2), precision (1), height (2), width (2).
        BinaryPrimitives.WriteUInt16BigEndian(result.AsSpan(sof + 5), height);
        BinaryPrimitives.WriteUInt16BigEndian(result.AsSpan(sof + 7), width);
        return result;
    }

    /// <summary>CRC-32 as PNG defines it (reflected polynomial 0xEDB88320), bit by bit: slow and obviously right.</summary>
    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
        }
        return ~crc;
    }
}
