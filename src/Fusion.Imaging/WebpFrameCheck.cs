using System.Buffers.Binary;

namespace Fusion.Imaging;

/// <summary>
/// A still WebP file with a VP8X chunk declares its size twice: the canvas there, and the VP8 or VP8L frame header.
/// ImageSharp 2.1 decodes at the frame's size whatever the canvas says: a 222-byte file with a 9x5 canvas and a
/// 9000x5000 frame decoded 45 megapixels (3.7 s) before failing. libwebp refuses a frame that differs from its canvas; so does this.
/// </summary>
internal static class WebpFrameCheck
{
    /// <summary>Why the frame of <paramref name="data"/>, already identified as WebP, does not match its canvas, or null.</summary>
    public static string? Problem(ReadOnlySpan<byte> data)
    {
        (long Width, long Height)? canvas = null;
        for (long pos = 12; pos + 8 <= data.Length;)
        {
            var chunk = data.Slice((int)pos, 8);
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(chunk[4..]);
            var body = data[(int)(pos + 8)..];
            if (chunk.StartsWith("VP8X"u8) && body.Length >= 10)
            {
                if ((body[0] & 0x02) != 0) return null; // animated: the frames are placed on the canvas, not equal to it
                canvas = (1 + ReadUInt24(body[4..]), 1 + ReadUInt24(body[7..]));
            }
            else if (FrameSize(chunk, body) is { } frame)
            {
                return canvas is { } c && c != frame
                    ? $"WebP frame dimensions {frame.Width}x{frame.Height} differ from the canvas {c.Width}x{c.Height} declared in the VP8X chunk"
                    : null;
            }
            pos += 8 + size + (size & 1);
        }
        return null; // no frame header: the decoder reports that itself
    }

    /// <summary>The dimensions in a VP8 (lossy) or VP8L (lossless) frame header, or null for any other chunk or a short one.</summary>
    private static (long Width, long Height)? FrameSize(ReadOnlySpan<byte> chunk, ReadOnlySpan<byte> body)
    {
        // VP8: a 3-byte frame tag, the start code 9D 01 2A, then 14-bit width and height (2 scaling bits above each).
        if (chunk.StartsWith("VP8 "u8) && body.Length >= 10)
            return (BinaryPrimitives.ReadUInt16LittleEndian(body[6..]) & 0x3FFF, BinaryPrimitives.ReadUInt16LittleEndian(body[8..]) & 0x3FFF);
        // VP8L: the signature byte 0x2F, then width − 1 and height − 1 in 14 bits each.
        if (chunk.StartsWith("VP8L"u8) && body.Length >= 5)
        {
            uint bits = BinaryPrimitives.ReadUInt32LittleEndian(body[1..]);
            return (1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF));
        }
        return null;
    }

    private static long ReadUInt24(ReadOnlySpan<byte> bytes) => bytes[0] | bytes[1] << 8 | bytes[2] << 16;
}
