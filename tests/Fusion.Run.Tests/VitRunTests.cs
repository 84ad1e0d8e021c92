using Fusion.IO;
using Fusion.Testing;
using ViT.Model;

namespace Fusion.Run.Tests;

/// <summary>vit-b16 end to end on the CPU through the tool: made by name, seeded with the ViT sample's random weights.</summary>
public class VitRunTests
{
    [Fact]
    public void VitB16RunsWithTheSamplesRandomWeights()
    {
        using var folder = new TempFolder();
        int seed = TestData.NewSeed() & 0xFFFF;
        var input = folder.File("image.npy");
        var output = folder.File("logits.npy");
        using var image = TestData.Random(seed + 1, 1, 3, 224, 224).ToCpu();
        NpyFile.Write(input, image);

        var run = ToolRun.Of("vit-b16", "--device", "cpu", "--warmup", "0", "--iters", "1", "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--input", "image:" + input, "--output", output);
        Assert.True(run.ExitCode == 0, run.Error);
        var lines = run.OutputLines;
        Assert.Contains(lines, l => l.StartsWith("model:       VisionTransformerBase16: ", StringComparison.Ordinal));
        Assert.Contains($"weights:     random, seed {seed}", lines);
        Assert.Contains(lines, l => l.StartsWith("output:      [1, 1000] f32", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("top-5:       input 0", StringComparison.Ordinal)); // a 1000-class output gets ImageNet's names

        // The tool's weights are ViT.RandomWeights' for the seed (Swin's, the fallback, draw the class token and
        // position embedding at another scale): the model made and run here computes the same logits.
        var model = new VisionTransformerBase16();
        ViT.RandomWeights.Initialize(model, seed);
        using var expected = model.Run(image);
        using var written = NpyFile.Read(output);
        Tolerance.AssertClose(written, RefTensor.FromCpu((CpuTensor)expected), 1e-5, 1e-5, $"fusion-run vit-b16 vs the model run directly (seed {seed})");
    }
}
