using System.Text;
using Fusion.IO;
using static Fusion.Runtime.Tests.IO.TinyPng;

namespace Fusion.Runtime.Tests.IO;

/// <summary>PPM/PGM and PNG decoding compared pixel-exact with the source samples, each rejection named, and the ImageNet preprocessing.</summary>
public sealed class ImageTests : TempDirectoryTest
{
    private static readonly Random Rng = new(1234);

    private static int[] RandomSamples(int count, int max) => Enumerable.Range(0, count).Select(_ => Rng.Next(max + 1)).ToArray();

    /// <summary>Checks every pixel of <paramref name="image"/> against RGB (or grey, replicated) samples of <paramref name="max"/>.</summary>
    private static void AssertPixels(RgbImage image, int width, int height, int[] rgb, int max, int channels = 3)
    {
        Assert.Equal(width, image.Width);
        Assert.Equal(height, image.Height);
        for (int p = 0; p < width * height; p++)
            for (int c = 0; c < 3; c++)
                Assert.Equal(rgb[p * channels + (channels == 3 ? c : 0)] / (float)max, image.Pixels[3 * p + c]);
    }

    private void Reject(string name, byte[] bytes, string rule)
    {
        var path = Dir.Write(name, bytes);
        var e = Assert.Throws<ImageFormatException>(() => ImageFile.Read(path));
        Assert.Equal(path, e.Path);
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        Assert.Contains(rule, e.Rule, StringComparison.Ordinal);
    }

    [Fact]
    public void PlainPixmapWithCommentsDecodes()
    {
        var text = "P3\n# written by a test\n3 2 # width and height\n255\n255 0 0  0 255 0  0 0 255\n# a comment between rows\n10 20 30  40 50 60  70 80 255\n";
        var image = ImageFile.Read(Dir.Write("a.ppm", Encoding.ASCII.GetBytes(text)));
        AssertPixels(image, 3, 2, [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 40, 50, 60, 70, 80, 255], 255);
    }

    [Theory]
    [InlineData(255)]
    [InlineData(1000)]
    [InlineData(65535)]
    public void RawPixmapDecodes(int max)
    {
        int width = 7, height = 5;
        var samples = RandomSamples(3 * width * height, max);
        var header = Encoding.ASCII.GetBytes($"P6 {width}\t{height}\n# comment\n{max}\n");
        var raster = max > 255 ? samples.SelectMany(s => new[] { (byte)(s >> 8), (byte)s }).ToArray() : samples.Select(s => (byte)s).ToArray();
        AssertPixels(ImageFile.Read(Dir.Write("b.ppm", Concat(header, raster))), width, height, samples, max);
    }

    [Fact]
    public void GreymapsDecodeReplicated()
    {
        var samples = RandomSamples(4 * 3, 100);
        var plain = Encoding.ASCII.GetBytes("P2 4 3 100\n" + string.Join(' ', samples));
        AssertPixels(ImageFile.Read(Dir.Write("plain.pgm", plain)), 4, 3, samples, 100, channels: 1);
        var raw = Concat(Encoding.ASCII.GetBytes("P5 4 3 100\n"), samples.Select(s => (byte)s).ToArray());
        AssertPixels(ImageFile.Read(Dir.Write("raw.pgm", raw)), 4, 3, samples, 100, channels: 1);
        // Unknown extensions are sniffed.
        AssertPixels(ImageFile.Read(Dir.Write("raw.img", raw)), 4, 3, samples, 100, channels: 1);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(0, 2)]
    [InlineData(0, 4)]
    [InlineData(0, 8)]
    [InlineData(0, 16)]
    [InlineData(2, 8)]
    [InlineData(2, 16)]
    [InlineData(4, 8)]
    [InlineData(4, 16)]
    [InlineData(6, 8)]
    [InlineData(6, 16)]
    public void PngDecodesPixelExact(int colourType, int bitDepth)
    {
        int width = 13, height = 10, max = (1 << bitDepth) - 1; // ten rows: every filter twice
        int channels = colourType switch { 0 => 1, 4 => 2, 2 => 3, _ => 4 };
        var samples = RandomSamples(width * height * channels, max);
        var image = ImageFile.Read(Dir.Write("c.png", Encode(width, height, colourType, bitDepth, samples)));
        // Colour comes from the first three samples of a pixel (grey from the first); alpha is dropped.
        var expected = new int[3 * width * height];
        for (int p = 0; p < width * height; p++)
            for (int c = 0; c < 3; c++) expected[3 * p + c] = samples[p * channels + (channels >= 3 ? c : 0)];
        AssertPixels(image, width, height, expected, max);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void PalettePngDecodesPixelExact(int bitDepth)
    {
        int width = 11, height = 6, entries = Math.Min(1 << bitDepth, 200);
        var palette = RandomSamples(3 * entries, 255);
        var indices = RandomSamples(width * height, entries - 1);
        var path = Dir.Write("p.png", Encode(width, height, 3, bitDepth, indices, palette.Select(v => (byte)v).ToArray()));
        AssertPixels(ImageFile.Read(path), width, height, indices.SelectMany(i => palette.Skip(3 * i).Take(3)).ToArray(), 255);
    }

    [Fact]
    public void PngSkipsAncillaryChunksAndSplitIdat()
    {
        var samples = RandomSamples(5 * 4 * 3, 255);
        var idat = Compress(FilterRows(Pack(samples, 15, 4, 8), 4, 3));
        var file = Concat(Signature, Ihdr(5, 4, 8, 2), Chunk("tEXt", Encoding.ASCII.GetBytes("Comment\0hi")),
            Chunk("IDAT", idat[..7]), Chunk("IDAT", idat[7..]), Chunk("IEND", []));
        AssertPixels(ImageFile.Read(Dir.Write("split.png", file)), 5, 4, samples, 255);
    }

    [Fact]
    public void PngRejectsEachMalformedInput()
    {
        var samples = RandomSamples(4 * 3 * 3, 255);
        var idat = Chunk("IDAT", Compress(FilterRows(Pack(samples, 12, 3, 8), 3, 3)));
        var ihdr = Ihdr(4, 3, 8, 2);
        var iend = Chunk("IEND", []);
        var good = Concat(Signature, ihdr, idat, iend);
        AssertPixels(ImageFile.Read(Dir.Write("good.png", good)), 4, 3, samples, 255);

        Reject("sig.png", Concat([0x89, (byte)'P', (byte)'N', (byte)'X'], good[4..]), "bad PNG signature");
        Reject("short.png", good[..(good.Length - 20)], "truncated");
        Reject("noend.png", Concat(Signature, ihdr, idat), "without an IEND chunk");
        var corrupt = (byte[])good.Clone();
        corrupt[Signature.Length + ihdr.Length + 10] ^= 0x40;
        Reject("crc.png", corrupt, "CRC mismatch in chunk 'IDAT'");
        Reject("type5.png", Concat(Signature, Ihdr(4, 3, 8, 5), idat, iend), "unsupported colour type 5");
        Reject("depth.png", Concat(Signature, Ihdr(4, 3, 4, 2), idat, iend), "unsupported bit depth 4 for colour type 2");
        Reject("adam7.png", Concat(Signature, Ihdr(4, 3, 8, 2, interlace: 1), idat, iend), "Adam7-interlaced PNGs are not supported");
        Reject("huge.png", Concat(Signature, Ihdr(ImageFile.MaxDimension + 1, 3, 8, 2), idat, iend), "exceed the limit");
        Reject("many.png", Concat(Signature, Ihdr(8000, 8000, 8, 2), idat, iend), "exceed the limit");
        Reject("zero.png", Concat(Signature, Ihdr(0, 3, 8, 2), idat, iend), "must both be positive");
        Reject("rows.png", Concat(Signature, Ihdr(4, 4, 8, 2), idat, iend), "decompressed size mismatch");
        Reject("longer.png", Concat(Signature, Ihdr(4, 2, 8, 2), idat, iend), "decompressed size mismatch: IDAT inflates to more than");
        Reject("zlib.png", Concat(Signature, ihdr, Chunk("IDAT", [1, 2, 3, 4, 5, 6]), iend), "not a valid zlib stream");
        Reject("first.png", Concat(Signature, idat, ihdr, iend), "first chunk is 'IDAT'");
        Reject("twoihdr.png", Concat(Signature, ihdr, ihdr, idat, iend), "more than one IHDR");
        Reject("noidat.png", Concat(Signature, ihdr, iend), "no IDAT chunk");
        Reject("split.png", Concat(Signature, ihdr, idat, Chunk("tEXt", [65, 0]), idat, iend), "not consecutive");
        Reject("critical.png", Concat(Signature, ihdr, Chunk("ABCD", []), idat, iend), "unknown critical chunk 'ABCD'");
        Reject("badtype.png", Concat(Signature, ihdr, Chunk("AB1D", []), idat, iend), "not four ASCII letters");
        Reject("iend.png", Concat(Signature, ihdr, idat, Chunk("IEND", [0])), "must be empty");
        var filtered = FilterRows(Pack(samples, 12, 3, 8), 3, 3);
        filtered[1 + 12 + 1 + 12] = 5; // third row's filter byte
        Reject("filter.png", Concat(Signature, ihdr, Chunk("IDAT", Compress(filtered)), iend), "row 2 has filter type 5");
    }

    [Fact]
    public void PalettePngRejectsBadPalettes()
    {
        var idat = Chunk("IDAT", Compress(FilterRows(Pack([0, 1, 2, 3], 2, 2, 8), 2, 1)));
        var ihdr = Ihdr(2, 2, 8, 3);
        var iend = Chunk("IEND", []);
        var twoEntries = Chunk("PLTE", [1, 2, 3, 4, 5, 6]);
        Reject("nopal.png", Concat(Signature, ihdr, idat, iend), "without a PLTE chunk");
        Reject("index.png", Concat(Signature, ihdr, twoEntries, idat, iend), "pixel (0, 1) uses palette index 2 but PLTE has 2 entries");
        Reject("palsize.png", Concat(Signature, ihdr, Chunk("PLTE", [1, 2, 3, 4]), idat, iend), "multiple of 3");
        Reject("late.png", Concat(Signature, ihdr, idat, twoEntries, iend), "PLTE after IDAT");
        Reject("twopal.png", Concat(Signature, ihdr, twoEntries, twoEntries, idat, iend), "more than one PLTE");
        Reject("greypal.png", Concat(Signature, Ihdr(2, 2, 8, 0), twoEntries, idat, iend), "PLTE is not allowed with colour type 0");
    }

    [Fact]
    public void NetpbmRejectsEachMalformedInput()
    {
        byte[] Ascii(string s) => Encoding.ASCII.GetBytes(s);
        Reject("magic.ppm", Ascii("Q6 1 1 255\n\0\0\0"), "does not start with P2, P3, P5 or P6");
        Reject("bitmap.pgm", Ascii("P4 8 1\n\0"), "P4 is not supported");
        Reject("maxval0.pgm", Ascii("P5 1 1 0\n\0"), "maxval 0 must be between 1 and 65535");
        Reject("maxval.pgm", Ascii("P5 1 1 65536\n\0\0"), "maxval 65536 must be between 1 and 65535");
        Reject("truncated.ppm", Ascii("P6 2 2 255\n\0\0\0\0\0"), "needs 12 (file truncated)");
        Reject("plainshort.pgm", Ascii("P2 2 2 9\n1 2 3"), "file ends before the sample 3 of 4");
        Reject("above.pgm", Ascii("P2 2 1 9\n1 12"), "sample 1 is 12, above maxval 9");
        Reject("rawabove.pgm", Concat(Ascii("P5 1 1 300\n"), [0x02, 0x00]), "sample 0 is 512, above maxval 300");
        Reject("token.pgm", Ascii("P2 2x 1 9\n1 2"), "the width must end at whitespace");
        Reject("letter.pgm", Ascii("P2 a 1 9\n1 2"), "the width must be a decimal number");
        Reject("big.pgm", Ascii($"P5 {ImageFile.MaxDimension + 1} 1 255\n"), "exceed the limit");
        Reject("huge.pgm", Ascii("P5 99999999999 1 255\n"), "exceeds 2147483647");
        Reject("nows.pgm", Ascii("P5 1 1 255"), "followed by a single whitespace byte");
        Reject("unknown.bin", Ascii("GIF89a"), "not a PNG, PPM or PGM file");
        var missing = Dir.File("missing.png");
        Assert.Contains("cannot read the file", Assert.Throws<ImageFormatException>(() => ImageFile.Read(missing)).Rule, StringComparison.Ordinal);
    }

    private static float Normalized(float value, int channel) => (value - ImageInput.Mean[channel]) / ImageInput.Std[channel];

    [Fact]
    public void ConstantColourLoadsAsItsNormalizedValue()
    {
        int[] colour = [200, 30, 120];
        var samples = Enumerable.Range(0, 300 * 200).SelectMany(_ => colour).ToArray();
        using var tensor = ImageInput.Load(Dir.Write("const.png", Encode(300, 200, 2, 8, samples)));
        Assert.Equal(new Shape(1, 3, 224, 224), tensor.Shape);
        var values = tensor.Span<float>();
        for (int c = 0; c < 3; c++)
        {
            float expected = Normalized(colour[c] / 255f, c);
            foreach (var v in values.Slice(c * 224 * 224, 224 * 224)) Assert.Equal(expected, v, 1e-5f);
        }
    }

    [Fact]
    public void HorizontalGradientStaysMonotoneAlongTheWidth()
    {
        int width = 400, height = 300;
        var header = Encoding.ASCII.GetBytes($"P5 {width} {height} 65535\n");
        var raster = new byte[2 * width * height];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) { int level = x * 65535 / (width - 1); raster[2 * (y * width + x)] = (byte)(level >> 8); raster[2 * (y * width + x) + 1] = (byte)level; }
        using var tensor = ImageInput.Load(Dir.Write("grad.pgm", Concat(header, raster)));
        Assert.Equal(new Shape(1, 3, 224, 224), tensor.Shape);
        var v = tensor.Span<float>();
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 224; y++)
                for (int x = 0; x < 224; x++)
                {
                    int i = (c * 224 + y) * 224 + x;
                    Assert.Equal(v[c * 224 * 224 + x], v[i], 1e-5f); // every row alike
                    if (x > 0) Assert.True(v[i] > v[i - 1], $"channel {c} row {y}: x={x} is not above x={x - 1}");
                    float raw = v[i] * ImageInput.Std[c] + ImageInput.Mean[c];
                    Assert.Equal(v[(y * 224) + x] * ImageInput.Std[0] + ImageInput.Mean[0], raw, 1e-5f); // grey replicated
                }
        // The 400x300 image becomes 330x248; the centre crop keeps columns 53 to 276 of it, not the edges.
        float first = v[0] * ImageInput.Std[0] + ImageInput.Mean[0], last = v[223] * ImageInput.Std[0] + ImageInput.Mean[0];
        Assert.InRange(first, 0.14f, 0.18f);
        Assert.InRange(last, 0.82f, 0.86f);
    }

    [Fact]
    public void ImageOfTheScaleSizeIsOnlyCropped()
    {
        // floor(224 / 0.9) = 248: a 248x248 image is not resized, so the crop is pixels 12 to 235 exactly.
        var samples = RandomSamples(248 * 248 * 3, 255);
        using var tensor = ImageInput.Load(Dir.Write("exact.png", Encode(248, 248, 2, 8, samples)));
        var v = tensor.Span<float>();
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 224; y++)
                for (int x = 0; x < 224; x++)
                    Assert.Equal(Normalized(samples[3 * ((y + 12) * 248 + x + 12) + c] / 255f, c), v[(c * 224 + y) * 224 + x], 1e-5f);
    }

    [Fact]
    public void DownscaleIsAntialiased()
    {
        // Alternating black and white columns halved: a point-sampled resize would keep one colour, a box-filtered one averages.
        int size = 496;
        var samples = new int[size * size];
        for (int i = 0; i < samples.Length; i++) samples[i] = i % 2 * 255;
        using var tensor = ImageInput.Load(Dir.Write("stripes.png", Encode(size, size, 0, 8, samples)));
        foreach (var v in tensor.Span<float>()[..(224 * 224)]) Assert.Equal(Normalized(0.5f, 0), v, 1e-5f);
    }

    [Fact]
    public void BatchKeepsTheOrderAndHonoursSizeAndCrop()
    {
        var red = Dir.Write("red.ppm", Concat(Encoding.ASCII.GetBytes("P6 20 10 255\n"), Enumerable.Repeat(new byte[] { 255, 0, 0 }, 200).SelectMany(p => p).ToArray()));
        var grey = Dir.Write("grey.pgm", Encoding.ASCII.GetBytes("P2 3 5 4\n" + string.Join(' ', Enumerable.Repeat(1, 15))));
        using var batch = ImageInput.LoadBatch([grey, red, grey], size: 32, cropFraction: 0.875f);
        Assert.Equal(new Shape(3, 3, 32, 32), batch.Shape);
        var v = batch.Span<float>();
        int plane = 32 * 32;
        for (int n = 0; n < 3; n++)
            for (int c = 0; c < 3; c++)
            {
                float expected = Normalized(n == 1 ? (c == 0 ? 1f : 0f) : 0.25f, c);
                foreach (var x in v.Slice((3 * n + c) * plane, plane)) Assert.Equal(expected, x, 1e-5f);
            }
        Assert.Throws<ArgumentException>(() => ImageInput.LoadBatch([]));
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageInput.Load(red, cropFraction: 1.5f));
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageInput.Load(red, size: 0));
        Assert.Throws<ImageFormatException>(() => ImageInput.LoadBatch([red, Dir.File("absent.ppm")]));
    }
}
