using System.Buffers.Binary;

namespace Fusion.IO;

/// <summary>A validated IHDR chunk: dimensions within the caps and a bit depth the colour type allows.</summary>
internal sealed record PngHeader(int Width, int Height, int BitDepth, int ColourType)
{
    public const int Greyscale = 0, Rgb = 2, Palette = 3, GreyAlpha = 4, Rgba = 6;

    /// <summary>Samples a pixel: grey, RGB or a palette index, plus alpha where there is one.</summary>
    public int Channels => ColourType switch { Greyscale or Palette => 1, GreyAlpha => 2, Rgb => 3, _ => 4 };

    /// <summary>Bytes of one scanline, not counting its filter-type byte.</summary>
    public int RowBytes => (int)(((long)Width * Channels * BitDepth + 7) / 8);

    /// <summary>The byte distance to the "left" neighbour the filters use: a whole pixel, at least one byte.</summary>
    public int FilterStride => Math.Max(1, Channels * BitDepth / 8);

    public static PngHeader Parse(string path, ReadOnlySpan<byte> data)
    {
        if (data.Length != 13)
            throw new ImageFormatException(path, $"IHDR holds {data.Length} bytes, must hold 13");
        uint width = BinaryPrimitives.ReadUInt32BigEndian(data), height = BinaryPrimitives.ReadUInt32BigEndian(data[4..]);
        ImageFile.CheckDimensions(path, width, height);
        int bitDepth = data[8], colourType = data[9];
        int[]? allowed = colourType switch
        {
            Greyscale => [1, 2, 4, 8, 16],
            Palette => [1, 2, 4, 8],
            Rgb or GreyAlpha or Rgba => [8, 16],
            _ => null,
        };
        if (allowed is null)
            throw new ImageFormatException(path, $"unsupported colour type {colourType} (PNG defines 0, 2, 3, 4 and 6)");
        if (!allowed.Contains(bitDepth))
            throw new ImageFormatException(path, $"unsupported bit depth {bitDepth} for colour type {colourType} (allowed: {string.Join(", ", allowed)})");
        if (data[10] != 0)
            throw new ImageFormatException(path, $"unknown compression method {data[10]} (only 0, zlib, is defined)");
        if (data[11] != 0)
            throw new ImageFormatException(path, $"unknown filter method {data[11]} (only 0 is defined)");
        if (data[12] == 1)
            throw new ImageFormatException(path, "Adam7-interlaced PNGs are not supported; save the image without interlacing");
        if (data[12] != 0)
            throw new ImageFormatException(path, $"unknown interlace method {data[12]}");
        return new PngHeader((int)width, (int)height, bitDepth, colourType);
    }
}
