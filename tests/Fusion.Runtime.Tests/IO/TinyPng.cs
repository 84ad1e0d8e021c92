using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Fusion.IO;

namespace Fusion.Runtime.Tests.IO;

/// <summary>
/// A minimal PNG encoder for the decoder tests: packs samples at any bit depth, filters row y with
/// filter type y % 5 (so None, Sub, Up, Average and Paeth all appear), and builds chunks by hand so
/// tests can also write broken files.
/// </summary>
internal static class TinyPng
{
    public static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>A whole file: signature, IHDR, PLTE (when given), one IDAT and IEND.</summary>
    public static byte[] Encode(int width, int height, int colourType, int bitDepth, int[] samples, byte[]? palette = null)
    {
        int channels = colourType switch { 0 or 3 => 1, 4 => 2, 2 => 3, _ => 4 };
        var rows = Pack(samples, width * channels, height, bitDepth);
        return Concat(
            Signature,
            Ihdr(width, height, bitDepth, colourType),
            palette is null ? [] : Chunk("PLTE", palette),
            Chunk("IDAT", Compress(FilterRows(rows, height, Math.Max(1, channels * bitDepth / 8)))),
            Chunk("IEND", []));
    }

    public static byte[] Ihdr(int width, int height, int bitDepth, int colourType, int interlace = 0)
    {
        var body = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(body, width);
        BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(4), height);
        body[8] = (byte)bitDepth;
        body[9] = (byte)colourType;
        body[12] = (byte)interlace;
        return Chunk("IHDR", body);
    }

    /// <summary>Length, type, body and the CRC of type and body.</summary>
    public static byte[] Chunk(string type, byte[] body)
    {
        var chunk = new byte[12 + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(chunk, body.Length);
        Encoding.ASCII.GetBytes(type).CopyTo(chunk, 4);
        body.CopyTo(chunk, 8);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + body.Length), PngCrc.Compute(chunk.AsSpan(4, 4 + body.Length)));
        return chunk;
    }

    public static byte[] Compress(byte[] data)
    {
        using var output = new MemoryStream();
        using (var zlib = new ZLibStream(output, CompressionLevel.Optimal)) zlib.Write(data);
        return output.ToArray();
    }

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    /// <summary>Samples (row-major, <paramref name="perRow"/> a row) packed big-endian at 16 bits, from the high bit below 8.</summary>
    public static byte[] Pack(int[] samples, int perRow, int height, int bitDepth)
    {
        int rowBytes = (perRow * bitDepth + 7) / 8;
        var rows = new byte[height * rowBytes];
        for (int y = 0; y < height; y++)
        {
            for (int i = 0; i < perRow; i++)
            {
                int v = samples[y * perRow + i], at = y * rowBytes;
                if (bitDepth == 16) BinaryPrimitives.WriteUInt16BigEndian(rows.AsSpan(at + 2 * i), (ushort)v);
                else if (bitDepth == 8) rows[at + i] = (byte)v;
                else rows[at + i * bitDepth / 8] |= (byte)(v << (8 - bitDepth - i * bitDepth % 8));
            }
        }
        return rows;
    }

    /// <summary>Each row prefixed by its filter type (y % 5) and filtered against the unfiltered row above.</summary>
    public static byte[] FilterRows(byte[] rows, int height, int stride)
    {
        int rowBytes = rows.Length / height;
        var output = new byte[height * (1 + rowBytes)];
        for (int y = 0; y < height; y++)
        {
            int filter = y % 5;
            output[y * (1 + rowBytes)] = (byte)filter;
            for (int i = 0; i < rowBytes; i++)
            {
                byte At(int row, int index) => row < 0 || index < 0 ? (byte)0 : rows[row * rowBytes + index];
                byte left = At(y, i - stride), above = At(y - 1, i), upperLeft = At(y - 1, i - stride);
                byte predictor = filter switch
                {
                    0 => 0,
                    1 => left,
                    2 => above,
                    3 => (byte)((left + above) >> 1),
                    _ => PngScanlines.PaethPredictor(left, above, upperLeft),
                };
                output[y * (1 + rowBytes) + 1 + i] = (byte)(rows[y * rowBytes + i] - predictor);
            }
        }
        return output;
    }
}
