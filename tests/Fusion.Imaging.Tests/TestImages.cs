using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Pbm;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Formats.Webp;
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

    /// <summary>An encoder per test format name; lossless except "jpeg", "webp-lossy" and "gif" (a 256-colour palette).</summary>
    public static IImageEncoder Encoder(string format) => format switch
    {
        "png" => new PngEncoder(),
        "jpeg" => new JpegEncoder { Quality = 90 },
        "bmp" => new BmpEncoder { BitsPerPixel = BmpBitsPerPixel.Pixel24 },
        "gif" => new GifEncoder(),
        "webp" => new WebpEncoder { FileFormat = WebpFileFormatType.Lossless },
        "webp-lossy" => new WebpEncoder { FileFormat = WebpFileFormatType.Lossy },
        "tiff" => new TiffEncoder(),
        "ppm" => new PbmEncoder { Encoding = PbmEncoding.Binary, ColorType = PbmColorType.Rgb },
        "pgm" => new PbmEncoder { Encoding = PbmEncoding.Binary, ColorType = PbmColorType.Grayscale },
        "plain.ppm" => new PbmEncoder { Encoding = PbmEncoding.Plain, ColorType = PbmColorType.Rgb },
        "plain.pgm" => new PbmEncoder { Encoding = PbmEncoding.Plain, ColorType = PbmColorType.Grayscale },
        _ => throw new ArgumentException($"no test encoder for '{format}'", nameof(format)),
    };

    /// <summary>Channel <paramref name="c"/> (0 R, 1 G, 2 B) of a pixel.</summary>
    public static byte Channel(Rgb24 pixel, int c) => c switch { 0 => pixel.R, 1 => pixel.G, _ => pixel.B };
}
