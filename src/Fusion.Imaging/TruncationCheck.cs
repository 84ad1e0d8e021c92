using System.Buffers.Binary;
using System.Text;

namespace Fusion.Imaging;

/// <summary>
/// ImageSharp decodes a PNG or JPEG that stops early without complaint, filling the missing rows with grey;
/// PIL (and so timm) refuses such a file. This walks the container structure to its end marker so a cut
/// file is reported instead of classified.
/// </summary>
internal static class TruncationCheck
{
    /// <summary>Why <paramref name="data"/>, already identified as <paramref name="formatName"/>, is truncated, or null when it is complete or not PNG or JPEG.</summary>
    public static string? Problem(string formatName, ReadOnlySpan<byte> data) => formatName switch
    {
        "PNG" => PngProblem(data),
        "JPEG" => JpegProblem(data),
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
}
