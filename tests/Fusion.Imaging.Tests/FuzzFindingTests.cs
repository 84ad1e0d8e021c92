using System.Buffers.Binary;
using Fusion.Runtime.Tests.IO;

namespace Fusion.Imaging.Tests;

/// <summary>The reader bugs the format fuzzer found (docs/reliability.md), each reduced to the one field that triggered it.</summary>
public sealed class FuzzFindingTests : TempDirectoryTest
{
    private static byte[] Seed(string name) => ImageFuzzSeeds.For(name.Split(' ')[0]).Single(s => s.Name == name).Bytes;

    private (ImageFileException Error, long Allocated) Read(string name, byte[] bytes)
    {
        var path = Dir.Write(name, bytes);
        ImageFile.Read(Dir.Write("warm.png", Seed("png 13x7 palette"))).Dispose(); // first-use costs are not the file's
        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<ImageFileException>(() => ImageFile.Read(path));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(path, error.Path);
        return (error, allocated);
    }

    [Fact]
    public void BmpPixelOffsetBeyondTheFileIsRefusedBeforeThePaletteIsAllocated()
    {
        var bytes = Seed("bmp 13x7 8-bit palette");
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(10), 0x20000436); // ImageSharp sized a 512 MiB palette from this
        var (error, allocated) = Read("offset.bmp", bytes);
        Assert.Equal($"truncated BMP: the pixel data offset {0x20000436} lies beyond the end of the file ({bytes.Length} bytes)", error.Rule);
        Assert.InRange(allocated, 0, 1 << 20);
    }

    [Fact]
    public void BmpPixelOffsetAtTheEndOfTheFileIsNotThisRule()
    {
        // The bound is inclusive: an offset equal to the length is the (empty) raster's start; the raster check then speaks.
        var bytes = Seed("bmp 13x7 8-bit palette");
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(10), (uint)bytes.Length);
        Assert.StartsWith("truncated BMP: 13x7 at 8 bits a pixel needs", Read("end.bmp", bytes).Error.Rule, StringComparison.Ordinal);
    }

    [Fact]
    public void WebpFrameLargerThanItsCanvasIsRefusedBeforeDecoding()
    {
        // The lossy+alpha seed has a VP8X canvas of 9x5; its VP8 frame header is rewritten to 9000x5000, which
        // ImageSharp decoded from 222 bytes (45 megapixels, 3.7 s) before failing on the too-short alpha chunk.
        var bytes = Seed("webp 9x5 lossy+alpha");
        int vp8 = bytes.AsSpan().IndexOf("VP8 "u8);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(vp8 + 14), 9000);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(vp8 + 16), 5000);
        var (error, allocated) = Read("frame.webp", bytes);
        Assert.Equal("WebP frame dimensions 9000x5000 differ from the canvas 9x5 declared in the VP8X chunk", error.Rule);
        Assert.InRange(allocated, 0, 1 << 20);
    }

    [Fact]
    public void EveryFuzzSeedIsAValidImageOfItsSize()
    {
        // The fuzz runs start from these; an invalid seed (as ImageSharp's own P4 output is) would fuzz nothing.
        foreach (var format in new[] { "jpeg", "png", "bmp", "gif", "webp", "tiff", "pnm" })
            foreach (var seed in ImageFuzzSeeds.For(format))
            {
                using var image = ImageFile.Read(Dir.Write("seed.bin", seed.Bytes));
                var size = seed.Name.Split(' ')[1].Split('x').Select(int.Parse).ToArray();
                bool rotated = seed.Name.EndsWith("rotated", StringComparison.Ordinal); // EXIF orientation 6 swaps the sides
                Assert.Equal(rotated ? (size[1], size[0]) : (size[0], size[1]), (image.Width, image.Height));
            }
    }
}
