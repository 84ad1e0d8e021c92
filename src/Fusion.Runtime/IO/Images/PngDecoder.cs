using System.Buffers.Binary;
using System.IO.Compression;

namespace Fusion.IO;

/// <summary>
/// Non-interlaced PNG of every colour type and bit depth: the chunk sequence (IHDR first, PLTE
/// before the consecutive IDATs, IEND last, every CRC checked, unknown ancillary chunks skipped),
/// then zlib inflation to exactly the size the header implies. Bytes after IEND are ignored, as
/// common decoders do.
/// </summary>
internal static class PngDecoder
{
    public static RgbImage Decode(string path, byte[] data)
    {
        if (!ImageFile.HasPngSignature(data))
            throw new ImageFormatException(path, "bad PNG signature: the file does not start with \\x89PNG\\r\\n\\x1A\\n");

        PngHeader? header = null;
        byte[]? palette = null;
        var compressed = new MemoryStream();
        bool idatSeen = false, idatEnded = false;
        int pos = 8;
        while (true)
        {
            if (data.Length - pos < 8)
                throw new ImageFormatException(path, pos == data.Length ? "file ends without an IEND chunk (truncated)" : $"file ends inside a chunk header at offset {pos} (truncated)");
            uint length = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(pos));
            var typeBytes = data.AsSpan(pos + 4, 4);
            string type = System.Text.Encoding.ASCII.GetString(typeBytes);
            foreach (byte b in typeBytes)
                if (!char.IsAsciiLetter((char)b))
                    throw new ImageFormatException(path, $"chunk type at offset {pos} is not four ASCII letters");
            if (length > int.MaxValue || data.Length - pos - 12 < length)
                throw new ImageFormatException(path, $"chunk '{type}' at offset {pos} declares {length} bytes but the file ends after {Math.Max(0, data.Length - pos - 12)} (truncated)");
            var body = data.AsSpan(pos + 8, (int)length);
            uint stored = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(pos + 8 + (int)length));
            uint computed = PngCrc.Compute(data.AsSpan(pos + 4, 4 + (int)length));
            if (stored != computed)
                throw new ImageFormatException(path, $"CRC mismatch in chunk '{type}' at offset {pos} (stored 0x{stored:X8}, computed 0x{computed:X8})");
            pos += 12 + (int)length;

            if (header is null && type != "IHDR")
                throw new ImageFormatException(path, $"first chunk is '{type}', must be IHDR");
            if (idatSeen && type != "IDAT") idatEnded = true;
            switch (type)
            {
                case "IHDR":
                    if (header is not null)
                        throw new ImageFormatException(path, "more than one IHDR chunk");
                    header = PngHeader.Parse(path, body);
                    break;
                case "PLTE":
                    palette = ParsePalette(path, body, header!, palette is not null, idatSeen);
                    break;
                case "IDAT":
                    if (idatEnded)
                        throw new ImageFormatException(path, "IDAT chunks are not consecutive");
                    idatSeen = true;
                    compressed.Write(body);
                    break;
                case "IEND":
                    if (length != 0)
                        throw new ImageFormatException(path, $"IEND holds {length} bytes, must be empty");
                    if (!idatSeen)
                        throw new ImageFormatException(path, "no IDAT chunk before IEND");
                    if (header!.ColourType == PngHeader.Palette && palette is null)
                        throw new ImageFormatException(path, "colour type 3 (palette) without a PLTE chunk");
                    var raw = Inflate(path, compressed, header);
                    return PngScanlines.Decode(path, header, raw, palette);
                default:
                    // Bit 5 of the first letter (lower case) marks a chunk a decoder may skip.
                    if (char.IsAsciiLetterUpper(type[0]))
                        throw new ImageFormatException(path, $"unknown critical chunk '{type}'");
                    break;
            }
        }
    }

    private static byte[] ParsePalette(string path, ReadOnlySpan<byte> body, PngHeader header, bool seenBefore, bool idatSeen)
    {
        if (seenBefore)
            throw new ImageFormatException(path, "more than one PLTE chunk");
        if (idatSeen)
            throw new ImageFormatException(path, "PLTE after IDAT; it must come before the image data");
        if (header.ColourType is PngHeader.Greyscale or PngHeader.GreyAlpha)
            throw new ImageFormatException(path, $"PLTE is not allowed with colour type {header.ColourType} (greyscale)");
        if (body.Length == 0 || body.Length % 3 != 0 || body.Length > 3 * 256)
            throw new ImageFormatException(path, $"PLTE holds {body.Length} bytes, must hold 1 to 256 RGB entries (a multiple of 3)");
        return body.ToArray();
    }

    /// <summary>The filtered scanlines; a stream that inflates to any other size than the header implies is an error.</summary>
    private static byte[] Inflate(string path, MemoryStream compressed, PngHeader header)
    {
        long expected = (long)header.Height * (1 + header.RowBytes);
        if (expected + 1 > Array.MaxLength)
            throw new ImageFormatException(path, $"{header.Width}x{header.Height} image data exceeds the largest array .NET can allocate");
        // One byte more than expected, so a longer stream is noticed and a complete one is read to its checksum.
        var raw = new byte[expected + 1];
        int read;
        try
        {
            compressed.Position = 0;
            using var zlib = new ZLibStream(compressed, CompressionMode.Decompress);
            read = zlib.ReadAtLeast(raw, raw.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException e)
        {
            throw new ImageFormatException(path, $"IDAT data is not a valid zlib stream ({e.Message})", e);
        }
        if (read != expected)
            throw new ImageFormatException(path, $"decompressed size mismatch: IDAT inflates to {(read > expected ? "more than " + expected : read)} bytes, " +
                $"{header.Width}x{header.Height} at {header.Channels * header.BitDepth} bits a pixel needs {expected}");
        return raw;
    }
}
