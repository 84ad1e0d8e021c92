using System.Globalization;
using Fusion.Imaging;

namespace Fusion.Run.Tests;

/// <summary>Images through fusion-run: timm's settings per model, top-5 with ImageNet names, and one error line with exit 3 for a bad file.</summary>
public class ImageRunTests
{
    private static readonly string s_tests = typeof(ImageRunTests).Assembly.Location;

    /// <summary>A raw greymap with random levels; ImageSharp reads it as any other image.</summary>
    private static string WriteGreymap(TempFolder folder, string name, int width, int height, int seed)
    {
        var pixels = new byte[width * height];
        new Random(seed).NextBytes(pixels);
        var path = folder.File(name);
        File.WriteAllBytes(path, [.. System.Text.Encoding.ASCII.GetBytes($"P5\n{width} {height}\n255\n"), .. pixels]);
        return path;
    }

    [Fact]
    public void ClassifierOutputPrintsTheTopFiveWithImageNetNames()
    {
        using var folder = new TempFolder();
        var first = WriteGreymap(folder, "a.pgm", 40, 30, seed: 1);
        var second = WriteGreymap(folder, "b.pgm", 30, 40, seed: 2);
        var run = ToolRun.Of("ImageNetStub", "--assembly", s_tests, "--device", "cpu", "--warmup", "0", "--iters", "1", "--input", first, "--input", second);
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains($"input:       image [2, 3, 16, 16] as f32 from {first}, {second}", run.OutputLines);

        // Row -|c - 281|: softmax in double over all 1000 classes.
        double z = Enumerable.Range(0, 1000).Sum(c => Math.Exp(-Math.Abs(c - 281)));
        string P(int distance) => (100 * Math.Exp(-distance) / z).ToString("F2", CultureInfo.InvariantCulture) + "%";
        var lines = run.OutputLines.ToList();
        int output = lines.FindIndex(l => l.StartsWith("output:      [2, 1000] f32", StringComparison.Ordinal));
        Assert.True(output >= 0, run.Output);
        string[] block = ["top-5:       input 0", $"1. 281 tabby  {P(0)}", $"2. 280 grey fox  {P(1)}", $"3. 282 tiger cat  {P(1)}",
            $"4. 279 Arctic fox  {P(2)}", $"5. 283 Persian cat  {P(2)}"];
        Assert.Equal(block, lines.Skip(output + 1).Take(6));
        Assert.Equal("top-5:       input 1", lines[output + 7]);
        Assert.Contains("  1. 281 tabby  " + P(0), run.Output.Split('\n').Select(l => l.TrimEnd('\r')));
    }

    [Fact]
    public void OutputsOtherThanImageNetPrintNoClasses()
    {
        var run = ToolRun.Of("swin-blocks", "--device", "cpu", "--warmup", "0", "--iters", "1");
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.DoesNotContain(run.OutputLines, l => l.StartsWith("top-", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("notes.jpg", "not an image ImageSharp can read")]
    [InlineData("cut.pgm", "truncated Netpbm file")]
    public void BadImageIsOneErrorLineAndExitThree(string name, string rule)
    {
        using var folder = new TempFolder();
        var path = folder.File(name);
        File.WriteAllBytes(path, name.EndsWith(".jpg", StringComparison.Ordinal) ? "not a photo"u8.ToArray() : [.. "P5\n16 16\n255\n"u8, 1, 2, 3]);
        var run = ToolRun.Of("ImageNetStub", "--assembly", s_tests, "--device", "cpu", "--input", path);
        Assert.Equal(3, run.ExitCode);
        var error = Assert.Single(run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"error: --input {path}: ", error, StringComparison.Ordinal);
        Assert.Contains(rule, error, StringComparison.Ordinal);
        Assert.DoesNotContain(run.OutputLines, l => l.StartsWith("output:", StringComparison.Ordinal)); // refused before any run
    }

    [Fact]
    public void SampleModelsGetTimmsTransformForThemOtherModelsTimmsDefault()
    {
        using var folder = new TempFolder();
        var path = WriteGreymap(folder, "grey.pgm", 61, 47, seed: 3);
        ModelInfo Model(string name) => new(name, [new InputInfo("image", [Dim.Batch, 3, 16, 16])], [], 1);
        using var swin = Assert.Single(InputLoader.Load(Model("SwinTransformerTiny"), [new InputSpec(null, path)], 1, 0)).Tensor;
        using var vit = Assert.Single(InputLoader.Load(Model("VisionTransformerBase16"), [new InputSpec(null, path)], 1, 0)).Tensor;
        using var other = Assert.Single(InputLoader.Load(Model("Other"), [new InputSpec(null, path)], 1, 0)).Tensor;
        using var expectedSwin = ImageInput.Load(path, ImageTransformOptions.Swin with { Size = 16 });
        using var expectedVit = ImageInput.Load(path, ImageTransformOptions.VisionTransformer with { Size = 16 });
        using var expectedOther = ImageInput.Load(path, ImageTransformOptions.Default with { Size = 16 });
        Assert.Equal(expectedSwin.ToFloatArray(), swin.ToFloatArray());
        Assert.Equal(expectedVit.ToFloatArray(), vit.ToFloatArray());
        Assert.Equal(expectedOther.ToFloatArray(), other.ToFloatArray());
        Assert.NotEqual(swin.ToFloatArray(), other.ToFloatArray()); // 16 / 0.9 = 17 against 16 / 0.875 = 18
        Assert.NotEqual(swin.ToFloatArray(), vit.ToFloatArray()); // same crop, mean and std 0.5 against ImageNet's
    }
}
