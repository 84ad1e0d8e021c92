using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fusion.Imaging.Tests;

/// <summary>Fresh random images made with ImageSharp, and the pixel levels a normalized tensor holds.</summary>
internal static class TestImages
{
    /// <summary>Every pixel random in all channels (alpha too, for <see cref="Rgba32"/>).</summary>
    public static Image<TPixel> Random<TPixel>(int width, int height, int seed) where TPixel : unmanaged, IPixel<TPixel>
    {
        var random = new Random(seed);
        var image = new Image<TPixel>(width, height);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                var pixel = default(TPixel);
                pixel.FromRgba32(new Rgba32((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
                image[x, y] = pixel;
            }
        return image;
    }

    /// <summary>
    /// The 8-bit level (0 to 255, as a double) behind value (<paramref name="c"/>, <paramref name="y"/>, <paramref name="x"/>)
    /// of image <paramref name="n"/> in a normalized [N, 3, S, S] tensor: the normalization undone.
    /// </summary>
    public static double Level(ReadOnlySpan<float> tensor, int size, int n, int c, int y, int x, ImageTransformOptions? options = null)
    {
        options ??= ImageTransformOptions.Default;
        float value = tensor[((n * 3 + c) * size + y) * size + x];
        return (value * (double)options.Std[c] + options.Mean[c]) * 255;
    }

    /// <summary>Channel <paramref name="c"/> (0 R, 1 G, 2 B) of a pixel.</summary>
    public static byte Channel(Rgb24 pixel, int c) => c switch { 0 => pixel.R, 1 => pixel.G, _ => pixel.B };
}
