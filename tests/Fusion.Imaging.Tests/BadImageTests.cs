using System.Text;
using Fusion.Runtime.Tests.IO;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fusion.Imaging.Tests;

/// <summary>Every bad input is one <see cref="ImageFileException"/> naming the file and the rule; none of ImageSharp's exceptions escape.</summary>
public sealed class BadImageTests : TempDirectoryTest
{
    private static byte[] Encoded(string format, int width = 61, int height = 47)
    {
        using var image = TestImages.Random<Rgb24>(width, height, seed: width + height);
        using var stream = new MemoryStream();
        image.Save(stream, TestImages.Encoder(format));
        return stream.ToArray();
    }

    private ImageFileException Reject(string path, string rule)
    {
        var e = Assert.Throws<ImageFileException>(() => ImageFile.Read(path));
        Assert.Equal(path, e.Path);
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        Assert.Contains(rule, e.Rule, StringComparison.Ordinal);
        // The same failure through the tensor loader, unchanged.
        Assert.Equal(e.Message, Assert.Throws<ImageFileException>(() => ImageInput.Load(path)).Message);
        return e;
    }

    private ImageFileException Reject(string name, byte[] bytes, string rule) => Reject(Dir.Write(name, bytes), rule);

    [Fact]
    public void MissingFile() => Reject(Dir.File("absent.png"), "cannot read the file");

    [Fact]
    public void FolderInsteadOfAFile()
    {
        var folder = Dir.File("folder.png");
        Directory.CreateDirectory(folder);
        Reject(folder, "cannot read the file");
    }

    [Theory]
    [InlineData("notes.jpg", "these are notes, not a photo\n")]
    [InlineData("empty.png", "")]
    [InlineData("script.webp", "#!/bin/sh\necho hi\n")]
    public void NonImageWithAnImageExtension(string name, string text) =>
        Reject(name, Encoding.UTF8.GetBytes(text), "not an image ImageSharp can read");

    /// <summary>ImageSharp would decode every one of these, filling the missing pixels; each is refused, as PIL refuses it.</summary>
    [Theory]
    [InlineData("png", "PNG")]
    [InlineData("jpeg", "JPEG")]
    [InlineData("bmp", "BMP")]
    [InlineData("gif", "GIF")]
    [InlineData("webp", "WebP")]
    [InlineData("webp-lossy", "WebP")]
    [InlineData("tiff", "")]
    [InlineData("ppm", "Netpbm file")]
    [InlineData("pgm", "Netpbm file")]
    [InlineData("plain.ppm", "Netpbm file")]
    [InlineData("plain.pgm", "Netpbm file")]
    public void TruncatedFile(string format, string name)
    {
        var bytes = Encoded(format, 301, 257);
        foreach (double kept in new[] { 0.3, 0.6, 0.95 })
            Reject($"cut-{kept}.{format}", bytes[..(int)(bytes.Length * kept)], name == "" ? "corrupt or truncated image" : "truncated " + name);
    }

    [Fact]
    public void CutAtAChunkOrMarkerBoundary()
    {
        var png = Encoded("png");
        Reject("noend.png", png[..^12], "truncated PNG: the file ends without an IEND chunk"); // IEND is the last 12 bytes
        var jpeg = Encoded("jpeg");
        Reject("noeoi.jpg", jpeg[..^2], "truncated JPEG: no end-of-image marker"); // EOI is the last 2 bytes
    }

    [Fact]
    public void BytesAfterTheEndMarkerAreAllowed()
    {
        // Cameras and editors append trailers after EOI or IEND; decoders ignore them, so do we.
        foreach (var format in new[] { "png", "jpeg", "bmp", "webp", "ppm" })
            ImageFile.Read(Dir.Write("trailer." + format, [.. Encoded(format), .. "trailer"u8])).Dispose();
    }

    [Fact]
    public void CorruptPngChecksum()
    {
        var bytes = Encoded("png");
        bytes[bytes.Length / 2] ^= 0x5A; // inside the IDAT data: its CRC no longer matches
        Reject("crc.png", bytes, "corrupt or truncated image");
    }

    [Fact]
    public void CorruptJpegHeader()
    {
        var bytes = Encoded("jpeg");
        int sof = bytes.AsSpan().IndexOf([(byte)0xFF, (byte)0xC0]);
        bytes[sof + 9] = 0; // zero components in the frame header
        Reject("header.jpg", bytes, "corrupt or truncated image");
    }

    [Theory]
    [InlineData(100000, 100000)]
    [InlineData(16385, 2)]
    [InlineData(16384, 16384)] // within the side cap, above the pixel cap
    public void PngBombIsRefusedFromItsHeader(int width, int height)
    {
        // A few hundred bytes claiming billions of pixels: refused from the header, before any pixel buffer exists.
        var e = Reject("bomb.png", CraftedFiles.PngDeclaring(Encoded("png"), width, height), $"PNG declared dimensions {width}x{height} exceed the limit");
        Assert.Null(e.InnerException);
    }

    [Fact]
    public void JpegBombIsRefusedFromItsHeader()
    {
        var e = Reject("bomb.jpg", CraftedFiles.JpegDeclaring(Encoded("jpeg"), 60000, 60000), "JPEG declared dimensions 60000x60000 exceed the limit");
        Assert.Null(e.InnerException);
    }

    [Fact]
    public void ImageAtTheCapsIsNotABomb()
    {
        // The caps are inclusive: an ordinary file is never near them, but the check must not be off by one.
        Assert.Null(ImageLimits.Problem(ImageLimits.MaxSide, ImageLimits.MaxPixels / ImageLimits.MaxSide));
        Assert.NotNull(ImageLimits.Problem(ImageLimits.MaxSide, ImageLimits.MaxPixels / ImageLimits.MaxSide + 1));
    }

    [Fact]
    public void RandomDamageIsAlwaysOurException()
    {
        // Bytes flipped anywhere in small files: each either still decodes or fails as an ImageFileException.
        var random = new Random(99);
        foreach (var format in new[] { "png", "jpeg" })
        {
            var good = Encoded(format, 23, 19);
            for (int trial = 0; trial < 150; trial++)
            {
                var bytes = (byte[])good.Clone();
                for (int flips = random.Next(1, 6); flips > 0; flips--) bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                var path = Dir.Write($"damaged-{trial}.{format}", bytes);
                try
                {
                    ImageFile.Read(path).Dispose();
                }
                catch (ImageFileException e)
                {
                    Assert.Equal(path, e.Path);
                }
            }
        }
    }

    [Fact]
    public void BatchNamesTheFileAtFault()
    {
        var good = Dir.Write("good.png", Encoded("png"));
        var bad = Dir.Write("bad.png", [1, 2, 3]);
        var e = Assert.Throws<ImageFileException>(() => ImageInput.LoadBatch([good, bad, good]));
        Assert.Equal(bad, e.Path);
    }
}
