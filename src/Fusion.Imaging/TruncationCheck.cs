using System.Buffers.Binary;
using System.Text;

namespace Fusion.Imaging;

/// <summary>
/// ImageSharp 2.1 decodes a PNG, JPEG, BMP, GIF, WebP or Netpbm file that stops early without complaint, filling
/// the missing pixels; PIL (and so timm) refuses such a file. This checks each container's own account of its
/// length (chunks up to IEND, the end-of-image marker, the RIFF size, the raster size, the GIF trailer) so a cut
/// file is reported instead of classified. TIFF needs no check: its decoder fails on missing strips by itself.
/// </summary>
internal static class TruncationCheck
{
    /// <summary>Why <paramref name="data"/>, already identified as <paramref name="formatName"/> (ImageSharp's name), is truncated, or null.</summary>
    public static string? Problem(string formatName, ReadOnlySpan<byte> data) => formatName switch
    {
        "PNG" => PngProblem(data),
        "JPEG" => JpegProblem(data),
        "BMP" => BmpProblem(data),
        "GIF" => data[^1] == 0x3B ? null : "truncated GIF: the file does not end with the GIF trailer (0x3B)",
        "Webp" => WebpProblem(data),
        "PBM" => NetpbmRaster.Problem(data),
        _ => null,
    };

    /// <summary>Chunks follow the 8-byte signature as length (4), type (4), data, CRC (4), up to IEND.</summary>
    private static string? PngProblem(ReadOnlySpan<byte> data)
    {
        int pos = 8;
        while (true)
        {
            if (data.Length - pos < 12)
                return pos == data.Length ? "truncated PNG: the file ends without an IEND chunk" : $"truncated PNG: the file ends inside a chunk header at offset {pos}";
            uint length = BinaryPrimitives.ReadUInt32BigEndian(data[pos..]);
            string type = Encoding.ASCII.GetString(data.Slice(pos + 4, 4));
            if (length > (uint)(data.Length - pos - 12))
                return $"truncated PNG: chunk '{type}' at offset {pos} declares {length} bytes but the file ends {data.Length - pos - 12} bytes into it";
            if (type == "IEND") return null;
            pos += 12 + (int)length;
        }
    }

    /// <summary>
    /// Marker segments follow SOI up to the first start of scan (SOS); the end-of-image marker FF D9 must come after it.
    /// Entropy-coded data escapes every FF byte (FF 00, or a restart marker), so FF D9 there is the real end.
    /// </summary>
    private static string? JpegProblem(ReadOnlySpan<byte> data)
    {
        int pos = 2;
        while (true)
        {
            if (data.Length - pos < 2)
                return "truncated JPEG: the file ends before the image data (no start-of-scan marker)";
            if (data[pos] != 0xFF) return null; // not a marker: malformed, which the decoder reports in its own words
            byte marker = data[pos + 1];
            if (marker == 0xFF) { pos++; continue; } // fill byte
            if (marker is 0x01 or (>= 0xD0 and <= 0xD7)) { pos += 2; continue; } // markers without a length
            if (marker == 0xD9) return null; // end before any scan: the decoder's case too
            if (data.Length - pos < 4)
                return $"truncated JPEG: the file ends inside the marker segment at offset {pos}";
            int length = BinaryPrimitives.ReadUInt16BigEndian(data[(pos + 2)..]);
            if (marker == 0xDA)
                return data[(pos + 2)..].IndexOf([(byte)0xFF, (byte)0xD9]) >= 0 ? null : "truncated JPEG: no end-of-image marker (FF D9) after the image data";
            pos += 2 + length;
        }
    }

    /// <summary>An uncompressed BMP (BI_RGB or BI_BITFIELDS) holds its rows, each padded to 4 bytes, from the pixel-data offset on.</summary>
    private static string? BmpProblem(ReadOnlySpan<byte> data)
    {
        const int infoHeaderEnd = 14 + 40; // file header, then BITMAPINFOHEADER or a larger one
        if (data.Length < infoHeaderEnd || BinaryPrimitives.ReadUInt32LittleEndian(data[14..]) < 40) return null; // OS/2 headers: not checked
        uint compression = BinaryPrimitives.ReadUInt32LittleEndian(data[30..]);
        if (compression is not (0 or 3)) return null; // run-length and embedded formats have no fixed size
        long offset = BinaryPrimitives.ReadUInt32LittleEndian(data[10..]);
        long width = Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(data[18..]));
        long height = Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(data[22..]));
        int bitsPerPixel = BinaryPrimitives.ReadUInt16LittleEndian(data[28..]);
        long needed = offset + (bitsPerPixel * width + 31) / 32 * 4 * height;
        return data.Length >= needed ? null : $"truncated BMP: {width}x{height} at {bitsPerPixel} bits a pixel needs {needed} bytes, the file holds {data.Length}";
    }

    /// <summary>A WebP file is one RIFF chunk whose header (bytes 4 to 7) gives the size of the rest.</summary>
    private static string? WebpProblem(ReadOnlySpan<byte> data)
    {
        if (data.Length < 12) return "truncated WebP: the file ends inside the RIFF header";
        long needed = 8L + BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
        return data.Length >= needed ? null : $"truncated WebP: the RIFF header declares {needed} bytes, the file holds {data.Length}";
    }
}
