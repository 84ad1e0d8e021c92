using Fusion.Runtime.Tests.IO;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using SixLabors.ImageSharp.Processing.Processors.Quantization;
using static Fusion.Imaging.Tests.TestImages;

namespace Fusion.Imaging.Tests;

/// <summary>Decoding every supported format pixel-exact (JPEG close), greyscale to RGB, alpha dropped, EXIF orientation applied.</summary>
public sealed class ImageFileTests : TempDirectoryTest
{
    private static void AssertSamePixels(Image<Rgb24> expected, Image<Rgb24> actual)
    {
        Assert.Equal((expected.Width, expected.Height), (actual.Width, actual.Height));
        for (int y = 0; y < expected.Height; y++)
            for (int x = 0; x < expected.Width; x++)
                Assert.True(expected[x, y] == actual[x, y], $"pixel ({x}, {y}): expected {expected[x, y]}, got {actual[x, y]}");
    }

    [Theory]
    [InlineData("png", 301, 257)]
    [InlineData("bmp", 257, 301)]
    [InlineData("webp", 301, 257)]
    [InlineData("tiff", 257, 301)]
    [InlineData("ppm", 301, 257)]
    [InlineData("plain.ppm", 31, 17)]
    public void LosslessFormatsDecodePixelExact(string format, int width, int height)
    {
        using var source = Random<Rgb24>(width, height, seed: width * 7 + format.Length);
        var path = Dir.File("image." + format);
        source.Save(path, Encoder(format));
        using var image = ImageFile.Read(path);
        AssertSamePixels(source, image);
    }

    [Fact]
    public void GifDecodesItsPaletteColours()
    {
        // Eight colours fit a GIF palette exactly, so without dithering nothing is approximated.
        Rgb24[] palette = [.. Enumerable.Range(0, 8).Select(i => new Rgb24((byte)(i * 36), (byte)(255 - i * 30), (byte)(i * 97 % 256)))];
        var random = new Random(5);
        using var source = new Image<Rgb24>(67, 45);
        for (int y = 0; y < source.Height; y++)
            for (int x = 0; x < source.Width; x++) source[x, y] = palette[random.Next(palette.Length)];
        var path = Dir.File("image.gif");
        source.Save(path, new GifEncoder { Quantizer = new OctreeQuantizer(new QuantizerOptions { Dither = null }) });
        using var image = ImageFile.Read(path);
        AssertSamePixels(source, image);
    }

    [Fact]
    public void JpegDecodesCloseToItsSource()
    {
        // A smooth image: JPEG at quality 95 keeps it within a few levels.
        using var source = new Image<Rgb24>(301, 257);
        for (int y = 0; y < source.Height; y++)
            for (int x = 0; x < source.Width; x++) source[x, y] = new Rgb24((byte)(x * 255 / 300), (byte)(y * 255 / 256), (byte)((x + y) * 255 / 556));
        var path = Dir.File("image.jpg");
        source.Save(path, new JpegEncoder { Quality = 95 });
        using var image = ImageFile.Read(path);
        Assert.Equal((301, 257), (image.Width, image.Height));
        double worst = 0;
        for (int y = 0; y < source.Height; y++)
            for (int x = 0; x < source.Width; x++)
                for (int c = 0; c < 3; c++) worst = Math.Max(worst, Math.Abs(Channel(source[x, y], c) - Channel(image[x, y], c)));
        Assert.InRange(worst, 0, 12);
    }

    [Theory]
    [InlineData("png")]
    [InlineData("pgm")]
    public void GreyscaleBecomesThreeEqualChannels(string format)
    {
        using var source = Random<L8>(257, 31, seed: 11);
        var path = Dir.File("grey." + format);
        source.Save(path, format == "png" ? new PngEncoder { ColorType = PngColorType.Grayscale, BitDepth = PngBitDepth.Bit8 } : Encoder(format));
        using var image = ImageFile.Read(path);
        for (int y = 0; y < source.Height; y++)
            for (int x = 0; x < source.Width; x++)
            {
                byte grey = source[x, y].PackedValue;
                Assert.Equal(new Rgb24(grey, grey, grey), image[x, y]);
            }
    }

    [Fact]
    public void AlphaIsDroppedNotComposited()
    {
        // Random alpha, zero included: the colour stays as stored, as PIL's convert("RGB") leaves it.
        using var source = Random<Rgba32>(301, 257, seed: 12);
        var path = Dir.File("alpha.png");
        source.Save(path, new PngEncoder { ColorType = PngColorType.RgbWithAlpha });
        using var image = ImageFile.Read(path);
        for (int y = 0; y < source.Height; y++)
            for (int x = 0; x < source.Width; x++)
            {
                var p = source[x, y];
                Assert.Equal(new Rgb24(p.R, p.G, p.B), image[x, y]);
            }
    }

    [Fact]
    public void ContentsNotTheExtensionPickTheDecoder()
    {
        using var source = Random<Rgb24>(20, 10, seed: 13);
        var path = Dir.File("really-a-png.jpg");
        source.Save(path, new PngEncoder());
        using var image = ImageFile.Read(path);
        AssertSamePixels(source, image);
    }

    [Fact]
    public void ExifOrientationSixIsRotatedUpright()
    {
        // Orientation 6: the stored pixels must be turned 90° clockwise to be seen upright.
        using var source = Random<Rgb24>(301, 257, seed: 14);
        source.Metadata.ExifProfile = new ExifProfile();
        source.Metadata.ExifProfile.SetValue(ExifTag.Orientation, (ushort)6);
        var jpeg = Dir.File("rotated.jpg");
        source.Save(jpeg, new JpegEncoder { Quality = 90 });

        // The stored pixels as they are, turned by hand: (x, y) upright is (y, H - 1 - x) stored.
        using var stored = Image.Load<Rgb24>(jpeg);
        Assert.Equal((301, 257), (stored.Width, stored.Height));
        using var upright = ImageFile.Read(jpeg);
        Assert.Equal((257, 301), (upright.Width, upright.Height));
        for (int y = 0; y < upright.Height; y += 7)
            for (int x = 0; x < upright.Width; x += 5)
                Assert.Equal(stored[y, stored.Height - 1 - x], upright[x, y]);

        // And the model input equals that of the rotated image saved without orientation.
        stored.Mutate(x => x.Rotate(RotateMode.Rotate90));
        stored.Metadata.ExifProfile = null;
        var png = Dir.File("upright.png");
        stored.Save(png, new PngEncoder());
        using var fromJpeg = ImageInput.Load(jpeg);
        using var fromPng = ImageInput.Load(png);
        Assert.Equal(fromPng.ToFloatArray(), fromJpeg.ToFloatArray());
    }
}
