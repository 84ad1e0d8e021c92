using System.Buffers.Binary;

namespace Fusion.IO;

/// <summary>
/// Reverses the five PNG scanline filters in place and turns the samples into RGB floats:
/// greyscale replicated, palette indices looked up, alpha dropped.
/// </summary>
internal static class PngScanlines
{
    private const int None = 0, Sub = 1, Up = 2, Average = 3, Paeth = 4;

    public static RgbImage Decode(string path, PngHeader header, byte[] raw, byte[]? palette)
    {
        int width = header.Width, rowBytes = header.RowBytes, stride = header.FilterStride;
        var pixels = new float[3L * width * header.Height];
        var scale = SampleScale.Table((1 << header.BitDepth) - 1);
        var paletteScale = SampleScale.Table(byte.MaxValue);
        int channels = header.Channels;
        var zeros = new byte[rowBytes]; // the row above the first
        for (int y = 0; y < header.Height; y++)
        {
            int start = y * (1 + rowBytes);
            var row = raw.AsSpan(start + 1, rowBytes);
            var above = y == 0 ? zeros : raw.AsSpan(start - rowBytes, rowBytes);
            Unfilter(path, y, raw[start], row, above, stride);
            for (int x = 0; x < width; x++)
            {
                int o = 3 * (y * width + x);
                if (header.ColourType == PngHeader.Palette)
                {
                    int index = Sample(row, x, header.BitDepth);
                    if (3 * index >= palette!.Length)
                        throw new ImageFormatException(path, $"pixel ({x}, {y}) uses palette index {index} but PLTE has {palette.Length / 3} entries");
                    for (int c = 0; c < 3; c++) pixels[o + c] = paletteScale[palette[3 * index + c]];
                }
                else if (channels <= 2) // grey, or grey and alpha
                {
                    pixels[o] = pixels[o + 1] = pixels[o + 2] = scale[Sample(row, x * channels, header.BitDepth)];
                }
                else // RGB, or RGB and alpha
                {
                    for (int c = 0; c < 3; c++) pixels[o + c] = scale[Sample(row, x * channels + c, header.BitDepth)];
                }
            }
        }
        return new RgbImage(width, header.Height, pixels);
    }

    /// <summary>Sample <paramref name="index"/> of an unfiltered row: big-endian at 16 bits, packed from the high bit below 8.</summary>
    private static int Sample(ReadOnlySpan<byte> row, int index, int bitDepth)
    {
        if (bitDepth == 8) return row[index];
        if (bitDepth == 16) return BinaryPrimitives.ReadUInt16BigEndian(row[(2 * index)..]);
        int bit = index * bitDepth;
        return (row[bit >> 3] >> (8 - bitDepth - (bit & 7))) & ((1 << bitDepth) - 1);
    }

    private static void Unfilter(string path, int y, byte filter, Span<byte> row, ReadOnlySpan<byte> above, int stride)
    {
        switch (filter)
        {
            case None:
                break;
            case Sub:
                for (int i = stride; i < row.Length; i++) row[i] += row[i - stride];
                break;
            case Up:
                for (int i = 0; i < row.Length; i++) row[i] += above[i];
                break;
            case Average:
                for (int i = 0; i < row.Length; i++) row[i] += (byte)(((i >= stride ? row[i - stride] : 0) + above[i]) >> 1);
                break;
            case Paeth:
                for (int i = 0; i < row.Length; i++)
                    row[i] += i >= stride ? PaethPredictor(row[i - stride], above[i], above[i - stride]) : above[i];
                break;
            default:
                throw new ImageFormatException(path, $"row {y} has filter type {filter} (0 to 4 are defined)");
        }
    }

    /// <summary>Whichever of left, above and upper-left is closest to left + above - upper-left, ties in that order.</summary>
    internal static byte PaethPredictor(byte left, byte above, byte upperLeft)
    {
        int p = left + above - upperLeft;
        int pa = Math.Abs(p - left), pb = Math.Abs(p - above), pc = Math.Abs(p - upperLeft);
        if (pa <= pb && pa <= pc) return left;
        return pb <= pc ? above : upperLeft;
    }
}
