namespace Fusion.IO;

/// <summary>
/// Reads PNG, PPM and PGM files into an <see cref="RgbImage"/>. The extension picks the decoder
/// (.png; .ppm, .pgm, .pnm), so a damaged signature is reported as such; other names are sniffed.
/// </summary>
public static class ImageFile
{
    /// <summary>Widths and heights above this are refused before anything is allocated.</summary>
    public const int MaxDimension = 1 << 15;

    /// <summary>Images with more pixels than this (the float image takes 12 bytes a pixel) are refused.</summary>
    public const long MaxPixels = 1 << 25;

    private static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>The decoded image; every malformed or unsupported file is an <see cref="ImageFormatException"/>.</summary>
    public static RgbImage Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageFormatException(path, $"cannot read the file ({e.Message})", e);
        }
        return System.IO.Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".png" => PngDecoder.Decode(path, data),
            ".ppm" or ".pgm" or ".pnm" => PnmDecoder.Decode(path, data),
            _ when HasPngSignature(data) => PngDecoder.Decode(path, data),
            _ when data.Length >= 2 && data[0] == 'P' && data[1] is (byte)'2' or (byte)'3' or (byte)'5' or (byte)'6' => PnmDecoder.Decode(path, data),
            _ => throw new ImageFormatException(path, "not a PNG, PPM or PGM file: it starts with neither the PNG signature nor P2, P3, P5 or P6"),
        };
    }

    internal static bool HasPngSignature(ReadOnlySpan<byte> data) => data.StartsWith(PngSignature);

    internal static void CheckDimensions(string path, long width, long height)
    {
        if (width <= 0 || height <= 0)
            throw new ImageFormatException(path, $"dimensions {width}x{height} must both be positive");
        if (width > MaxDimension || height > MaxDimension || width * height > MaxPixels)
            throw new ImageFormatException(path, $"dimensions {width}x{height} exceed the limit ({MaxDimension} a side, {MaxPixels} pixels)");
    }
}
