using Fusion.Runtime.Tests.IO;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using static Fusion.Imaging.Tests.TestImages;

namespace Fusion.Imaging.Tests;

/// <summary>timm's eval transform: torchvision's resize geometry, bicubic held to a double-precision reference, centre crop, normalization.</summary>
public sealed class ImageTransformTests : TempDirectoryTest
{
    private string Save(Image image, string name)
    {
        var path = Dir.File(name);
        image.Save(path, new PngEncoder());
        return path;
    }

    [Theory]
    [InlineData(301, 257, 256, 299, 256)]
    [InlineData(257, 301, 256, 256, 299)]
    [InlineData(256, 256, 256, 256, 256)]
    [InlineData(1000, 10, 256, 25600, 256)]
    [InlineData(640, 480, 248, 330, 248)]
    public void ResizeKeepsTheAspectAsTorchvisionDoes(int width, int height, int shortSide, int expectedWidth, int expectedHeight)
    {
        // torchvision's Resize(int): the shorter side becomes shortSide, the longer int(shortSide * long / short).
        Assert.Equal((expectedWidth, expectedHeight), ImageTransform.ResizedSize(width, height, shortSide));
        int longer = Math.Max(width, height), shorter = Math.Min(width, height);
        Assert.Equal(Math.Max(expectedWidth, expectedHeight), (int)(shortSide * (double)longer / shorter));
    }

    [Theory]
    [InlineData(256, 224, 16)]
    [InlineData(301, 224, 38)] // 38.5 rounds to the even 38, as Python's round
    [InlineData(255, 100, 78)] // 77.5 rounds to the even 78
    [InlineData(224, 224, 0)]
    public void CropOffsetRoundsHalvesToEven(int length, int crop, int expected) =>
        Assert.Equal(expected, ImageTransform.CropOffset(length, crop));

    [Fact]
    public void DefaultsAreTimms()
    {
        var options = ImageTransformOptions.Default;
        Assert.Equal((224, 0.875, 256), (options.Size, options.CropFraction, options.ResizeShortSide));
        Assert.Equal([0.485f, 0.456f, 0.406f], options.Mean);
        Assert.Equal([0.229f, 0.224f, 0.225f], options.Std);
        Assert.Equal(248, ImageTransformOptions.Swin.ResizeShortSide);
        var vit = ImageTransformOptions.VisionTransformer; // timm's vit_base_patch16_224: crop 0.9, Inception mean and std
        Assert.Equal((224, 248), (vit.Size, vit.ResizeShortSide));
        Assert.Equal([0.5f, 0.5f, 0.5f], vit.Mean);
        Assert.Equal([0.5f, 0.5f, 0.5f], vit.Std);
    }

    /// <summary>
    /// An image already 256 on its shorter side is not resized, so the output is the crop, normalized:
    /// computed here in double from the source pixels, value by value.
    /// </summary>
    [Theory]
    [InlineData(256, 301, 16, 38)]
    [InlineData(301, 256, 38, 16)]
    public void ImageAtTheResizeSizeIsOnlyCroppedAndNormalized(int width, int height, int left, int top)
    {
        using var source = Random<Rgb24>(width, height, seed: width + 2 * height);
        using var tensor = ImageInput.Load(Save(source, "exact.png"));
        Assert.Equal(new Shape(1, 3, 224, 224), tensor.Shape);
        var values = tensor.Span<float>();
        double[] mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 224; y++)
                for (int x = 0; x < 224; x++)
                {
                    double expected = (Channel(source[x + left, y + top], c) / 255.0 - mean[c]) / std[c];
                    Assert.Equal(expected, values[(c * 224 + y) * 224 + x], 1e-5);
                }
    }

    [Fact]
    public void OptionsChangeSizeCropMeanAndStd()
    {
        // Size 100 at crop fraction 0.5: the shorter side is resized to 200; a 200x255 image is only cropped, at (50, 78).
        var options = new ImageTransformOptions { Size = 100, CropFraction = 0.5, Mean = [0.5f, 0.25f, 0f], Std = [0.5f, 0.25f, 1f] };
        Assert.Equal(200, options.ResizeShortSide);
        using var source = Random<Rgb24>(200, 255, seed: 21);
        using var tensor = ImageInput.Load(Save(source, "options.png"), options);
        Assert.Equal(new Shape(1, 3, 100, 100), tensor.Shape);
        var values = tensor.Span<float>();
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 100; y++)
                for (int x = 0; x < 100; x++)
                {
                    double expected = (Channel(source[x + 50, y + 78], c) / 255.0 - options.Mean[c]) / options.Std[c];
                    Assert.Equal(expected, values[(c * 100 + y) * 100 + x], 1e-5);
                }
    }

    /// <summary>
    /// Random pixels at odd sizes, shrunk slightly (301x257 to 299x256): every output level within rounding of
    /// PIL's bicubic computed in double. Random content is the hardest case: a bilinear or unfiltered resize, or
    /// a crop off by one, misses by tens of levels.
    /// </summary>
    [Theory]
    [InlineData(301, 257, 299, 256, 38, 16)]
    [InlineData(257, 301, 256, 299, 16, 38)]
    [InlineData(613, 517, 303, 256, 40, 16)]
    public void ResizeIsBicubicAsPil(int width, int height, int resizedWidth, int resizedHeight, int left, int top)
    {
        using var source = Random<Rgb24>(width, height, seed: width * height);
        using var tensor = ImageInput.Load(Save(source, "noise.png"));
        var values = tensor.Span<float>();
        byte Pixel(int x, int y, int c) => Channel(source[x, y], c);
        double worst = 0;
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 224; y++)
                for (int x = 0; x < 224; x++)
                {
                    double expected = BicubicReference.Sample(Pixel, width, height, resizedWidth, resizedHeight, x + left, y + top, c);
                    worst = Math.Max(worst, Math.Abs(Level(values, 224, 0, c, y, x) - expected));
                }
        // Half a level of rounding to 8 bits, and float arithmetic in the resampler.
        Assert.True(worst <= 0.75, $"largest difference from the bicubic reference: {worst:F3} levels");
    }

    [Fact]
    public void ConstantColourStaysConstantThroughAnUpscale()
    {
        using var source = new Image<Rgb24>(37, 53, new Rgb24(200, 30, 120));
        using var tensor = ImageInput.Load(Save(source, "constant.png"), ImageTransformOptions.Swin);
        var values = tensor.Span<float>();
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 224 * 224; i++)
                Assert.Equal(Channel(source[0, 0], c), Level(values, 224, 0, c, i / 224, i % 224), 1e-3);
    }

    [Fact]
    public void BatchKeepsTheOrder()
    {
        using var red = new Image<Rgb24>(300, 260, new Rgb24(255, 0, 0));
        using var grey = new Image<L8>(256, 256, new L8(64));
        string redPath = Save(red, "red.png"), greyPath = Save(grey, "grey.png");
        using var batch = ImageInput.LoadBatch([greyPath, redPath, greyPath]);
        Assert.Equal(new Shape(3, 3, 224, 224), batch.Shape);
        var values = batch.Span<float>();
        for (int n = 0; n < 3; n++)
            for (int c = 0; c < 3; c++)
            {
                double expected = n == 1 ? (c == 0 ? 255 : 0) : 64;
                Assert.Equal(expected, Level(values, 224, n, c, 100, 100), 1e-3);
            }
    }

    [Fact]
    public void BadOptionsAndEmptyBatchesAreRefused()
    {
        using var image = new Image<Rgb24>(8, 8);
        var path = Save(image, "small.png");
        Assert.Throws<ArgumentException>(() => ImageInput.LoadBatch([]));
        Assert.Equal("Size", Assert.Throws<ArgumentOutOfRangeException>(() => ImageInput.Load(path, new() { Size = 0 })).ParamName);
        Assert.Equal("CropFraction", Assert.Throws<ArgumentOutOfRangeException>(() => ImageInput.Load(path, new() { CropFraction = 1.5 })).ParamName);
        Assert.Equal("CropFraction", Assert.Throws<ArgumentOutOfRangeException>(() => ImageInput.Load(path, new() { CropFraction = 0 })).ParamName);
        Assert.Equal("Mean", Assert.Throws<ArgumentException>(() => ImageInput.Load(path, new() { Mean = [0.5f] })).ParamName);
        Assert.Equal("Std", Assert.Throws<ArgumentOutOfRangeException>(() => ImageInput.Load(path, new() { Std = [1f, 0f, 1f] })).ParamName);
    }
}
