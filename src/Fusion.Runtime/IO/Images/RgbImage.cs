namespace Fusion.IO;

/// <summary>
/// A decoded image: row-major pixels, each three interleaved floats R, G, B in [0, 1]. Greyscale
/// sources are replicated to the three channels; alpha is dropped (not composited), as PIL's
/// <c>convert("RGB")</c> does before timm's transforms.
/// </summary>
public sealed class RgbImage
{
    public RgbImage(int width, int height, float[] pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (pixels.LongLength != 3L * width * height)
            throw new ArgumentException($"{width}x{height} RGB needs {3L * width * height} floats, got {pixels.LongLength}", nameof(pixels));
        Width = width;
        Height = height;
        Pixels = pixels;
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>R, G, B of pixel (x, y) at <c>3 * (y * Width + x)</c>.</summary>
    public float[] Pixels { get; }

    /// <summary>Channel <paramref name="channel"/> (0 R, 1 G, 2 B) of pixel (<paramref name="x"/>, <paramref name="y"/>).</summary>
    public float this[int x, int y, int channel] => Pixels[3 * (y * Width + x) + channel];
}
