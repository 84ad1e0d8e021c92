using System.Text;
using Fusion.Testing;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Pbm;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Formats.Tiff.Constants;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;

namespace Fusion.Imaging.Tests;

/// <summary>
/// Small valid files of each format for the fuzzer to mutate: odd sizes (so row padding, partial MCUs and
/// partial bytes are exercised) and the encodings of the format ImageSharp writes (colour types, compressions,
/// plain and raw Netpbm), each with its trusted fields located. Small keeps 10,000 decodes within seconds.
/// </summary>
internal static class ImageFuzzSeeds
{
    public static IReadOnlyList<FuzzSeed> For(string format) => format switch
    {
        "jpeg" =>
        [
            Seed(format, "31x17 4:2:0", 31, 17, new JpegEncoder { Quality = 90, ColorType = JpegColorType.YCbCrRatio420 }),
            Seed(format, "13x7 grey", 13, 7, new JpegEncoder { Quality = 75, ColorType = JpegColorType.Luminance }),
            Seed(format, "9x5 4:4:4 rotated", 9, 5, new JpegEncoder { Quality = 50, ColorType = JpegColorType.YCbCrRatio444 }, orientation: 6),
        ],
        "png" =>
        [
            Seed(format, "31x17 rgb", 31, 17, new PngEncoder { ColorType = PngColorType.Rgb }),
            Seed(format, "13x7 palette", 13, 7, new PngEncoder { ColorType = PngColorType.Palette }),
            Seed(format, "9x5 grey+alpha interlaced rotated", 9, 5, new PngEncoder { ColorType = PngColorType.GrayscaleWithAlpha, InterlaceMethod = PngInterlaceMode.Adam7 }, orientation: 8),
        ],
        "bmp" =>
        [
            Seed(format, "31x17 24-bit", 31, 17, new BmpEncoder { BitsPerPixel = BmpBitsPerPixel.Pixel24 }),
            Seed(format, "13x7 8-bit palette", 13, 7, new BmpEncoder { BitsPerPixel = BmpBitsPerPixel.Pixel8 }),
            Seed(format, "9x5 1-bit", 9, 5, new BmpEncoder { BitsPerPixel = BmpBitsPerPixel.Pixel1 }),
            Seed(format, "11x3 32-bit", 11, 3, new BmpEncoder { BitsPerPixel = BmpBitsPerPixel.Pixel32 }),
        ],
        "gif" =>
        [
            Seed(format, "31x17", 31, 17, new GifEncoder()),
            Seed(format, "13x7 local table", 13, 7, new GifEncoder { ColorTableMode = GifColorTableMode.Local }),
        ],
        "webp" =>
        [
            Seed(format, "31x17 lossless", 31, 17, new WebpEncoder { FileFormat = WebpFileFormatType.Lossless }),
            Seed(format, "13x7 lossy", 13, 7, new WebpEncoder { FileFormat = WebpFileFormatType.Lossy }),
            Seed(format, "9x5 lossy+alpha", 9, 5, new WebpEncoder { FileFormat = WebpFileFormatType.Lossy, UseAlphaCompression = true }, alpha: true),
        ],
        "tiff" =>
        [
            Seed(format, "31x17 uncompressed", 31, 17, new TiffEncoder { Compression = TiffCompression.None }),
            Seed(format, "13x7 LZW", 13, 7, new TiffEncoder { Compression = TiffCompression.Lzw }),
            Seed(format, "9x5 deflate", 9, 5, new TiffEncoder { Compression = TiffCompression.Deflate }),
            Seed(format, "11x3 PackBits", 11, 3, new TiffEncoder { Compression = TiffCompression.PackBits }),
        ],
        "pnm" =>
        [
            Seed(format, "31x17 raw PPM", 31, 17, new PbmEncoder { Encoding = PbmEncoding.Binary, ColorType = PbmColorType.Rgb }),
            Seed(format, "13x7 raw PGM", 13, 7, new PbmEncoder { Encoding = PbmEncoding.Binary, ColorType = PbmColorType.Grayscale }),
            RawPbm(11, 7),
            Seed(format, "9x5 plain PPM", 9, 5, new PbmEncoder { Encoding = PbmEncoding.Plain, ColorType = PbmColorType.Rgb }),
            Seed(format, "5x3 plain PBM", 5, 3, new PbmEncoder { Encoding = PbmEncoding.Plain, ColorType = PbmColorType.BlackAndWhite }),
        ],
        _ => throw new ArgumentException($"no fuzz seeds for '{format}'", nameof(format)),
    };

    /// <summary>
    /// A raw PBM (P4) written by hand: ImageSharp 2.1 writes P4 rows without their padding to whole bytes
    /// (an 11x7 image comes out as 3 raster bytes instead of 14), a file the reader rightly calls truncated.
    /// </summary>
    private static FuzzSeed RawPbm(int width, int height)
    {
        var raster = new byte[(width + 7) / 8 * height];
        new Random(width * height).NextBytes(raster);
        return new FuzzSeed($"pnm {width}x{height} raw PBM", [.. Encoding.ASCII.GetBytes($"P4\n{width} {height}\n"), .. raster]);
    }

    private static FuzzSeed Seed(string format, string name, int width, int height, IImageEncoder encoder, ushort orientation = 0, bool alpha = false)
    {
        using var image = alpha
            ? (Image)TestImages.Random<Rgba32>(width, height, seed: width * height)
            : TestImages.Random<Rgb24>(width, height, seed: width * height);
        if (orientation != 0)
        {
            // An EXIF block gives the decoder one more length-prefixed structure to trust, and AutoOrient work to do.
            image.Metadata.ExifProfile = new ExifProfile();
            image.Metadata.ExifProfile.SetValue(ExifTag.Orientation, orientation);
        }
        using var stream = new MemoryStream();
        image.Save(stream, encoder);
        var bytes = stream.ToArray();
        return new FuzzSeed($"{format} {name}", bytes, ImageFieldLocator.Fields(format, bytes));
    }
}
