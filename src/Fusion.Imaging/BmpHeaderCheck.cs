using System.Buffers.Binary;

namespace Fusion.Imaging;

/// <summary>
/// ImageSharp 2.1 sizes a BMP's colour palette from the pixel-data offset in the file header while it identifies the
/// file, before any check of ours can run: a 1 KB file whose offset reads 0x20000436 made it allocate 512 MiB.
/// So this runs on the raw bytes first: the pixel data must start inside the file.
/// </summary>
internal static class BmpHeaderCheck
{
    private const int FileHeaderSize = 14;

    /// <summary>Why <paramref name="data"/>, if it is a BMP file, has a header ImageSharp must not act on, or null.</summary>
    public static string? Problem(ReadOnlySpan<byte> data)
    {
        if (data.Length < FileHeaderSize || !data.StartsWith("BM"u8)) return null;
        uint offset = BinaryPrimitives.ReadUInt32LittleEndian(data[10..]);
        return offset <= data.Length ? null : $"truncated BMP: the pixel data offset {offset} lies beyond the end of the file ({data.Length} bytes)";
    }
}
