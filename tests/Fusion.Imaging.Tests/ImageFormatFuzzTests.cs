using Fusion.Runtime.Tests.IO;
using Fusion.Testing;

namespace Fusion.Imaging.Tests;

/// <summary>
/// Seeded fuzzing of <see cref="ImageFile.Read"/>, 10,000 mutated inputs per format (see docs/reliability.md):
/// each input decodes or fails as an <see cref="ImageFileException"/> naming the file and the rule, within 5 s,
/// and within an allocation bound.
/// </summary>
public sealed class ImageFormatFuzzTests : TempDirectoryTest
{
    /// <summary>
    /// Managed bytes allocated on the reading thread: the file itself (read whole), the decoder's tables and
    /// row buffers, and the pixels of an image the header caps allow. 64 per file byte covers decoding a
    /// compressed file (the seeds expand 3 to 30 times); 64 MiB covers a header whose dimensions a mutation
    /// enlarged within the caps (a 16384-pixel row and its working buffers) and ImageSharp's first use of its
    /// array pools. ImageSharp's large pixel buffers are unmanaged and not seen here: the header caps bound them.
    /// Per input 5 s, not 2: a few hundred bytes of WebP may declare megapixels within the caps (a VP8 frame's
    /// size bears no relation to its length), and ImageSharp decodes them before finding the data short: 1.8 s here.
    /// </summary>
    private static readonly FuzzLimits Limits = FuzzLimits.Linear(perFileByte: 64, constant: 64 << 20) with { PerInput = TimeSpan.FromSeconds(5) };

    [Theory]
    [InlineData("jpeg", 20250101)]
    [InlineData("png", 20250102)]
    [InlineData("bmp", 20250103)]
    [InlineData("gif", 20250104)]
    [InlineData("webp", 20250105)]
    [InlineData("tiff", 20250106)]
    [InlineData("pnm", 20250107)]
    public void ReaderThrowsOnlyImageFileException(string format, int seed)
    {
        var report = FuzzRunner.Run<ImageFileException>(format, new FormatFuzzer(seed, ImageFuzzSeeds.For(format)),
            path => ImageFile.Read(path).Dispose(), Limits, Dir.Path);

        Assert.False(report.StoppedEarly, report.ToString());
        Assert.InRange(report.Rejected, report.Ran / 4, report.Ran); // the mutations reach the checks
        Assert.True(report.Accepted > 0, report.ToString()); // and are not all fatal: decoding runs too
    }
}
