using Fusion.IO;

namespace Fusion.Run.Tests;

/// <summary>Inputs for a model without running it: images preprocessed, .npy files assigned and checked, random input sized.</summary>
public class InputLoaderTests
{
    private static readonly ModelInfo s_imageModel = new("ImageModel", [new InputInfo("image", [Dim.Batch, 3, 16, 16])], [], 1);
    private static readonly ModelInfo s_twoInputs = new("TwoInputs", [new InputInfo("a", [Dim.Batch, 4]), new InputInfo("b", [Dim.Batch, 2, 3])], [], 1);

    [Fact]
    public void GreyImageIsResizedAndNormalizedWithImageNetMeanAndStd()
    {
        using var folder = new TempFolder();
        var path = folder.File("grey.pgm");
        var pixels = Enumerable.Repeat((byte)128, 40 * 30).ToArray();
        File.WriteAllBytes(path, [.. "P5\n40 30\n255\n"u8, .. pixels]);

        var inputs = InputLoader.Load(s_imageModel, [new InputSpec(null, path)], batch: 1, seed: 0);
        var input = Assert.Single(inputs);
        using var tensor = input.Tensor;
        Assert.Equal("image", input.Name);
        Assert.Equal(new Shape(1, 3, 16, 16), tensor.Shape);
        var values = tensor.ToFloatArray();
        float[] mean = [0.485f, 0.456f, 0.406f], std = [0.229f, 0.224f, 0.225f];
        for (int c = 0; c < 3; c++)
        {
            float expected = (128f / 255f - mean[c]) / std[c];
            Assert.All(values.AsSpan(c * 256, 256).ToArray(), v => Assert.Equal(expected, v, 4));
        }
    }

    [Fact]
    public void ImagesAndTensorsCannotBeMixed()
    {
        using var folder = new TempFolder();
        var image = folder.File("a.ppm");
        File.WriteAllBytes(image, [.. "P6\n1 1\n255\n"u8, 1, 2, 3]);
        var npy = folder.File("b.npy");
        using (var t = CpuTensor.Zeros(DType.Float32, 1, 4)) NpyFile.Write(npy, t);
        var e = Assert.Throws<ToolException>(() => InputLoader.Load(s_imageModel, [new InputSpec(null, image), new InputSpec(null, npy)], 1, 0));
        Assert.Equal("--input: give either image files or NAME:FILE.npy tensors, not both", e.Message);
    }

    [Fact]
    public void NamedAndPositionalTensorsFillTheInputsInOrder()
    {
        using var folder = new TempFolder();
        var a = folder.File("a.npy");
        var b = folder.File("b.npy");
        using (var t = CpuTensor.FromArray(new float[8], 2, 4)) NpyFile.Write(a, t);
        using (var t = CpuTensor.FromArray(new Half[12], 2, 2, 3)) NpyFile.Write(b, t);

        var inputs = InputLoader.Load(s_twoInputs, [new InputSpec("b", b), new InputSpec(null, a)], 1, 0);
        try
        {
            Assert.Equal(["a", "b"], inputs.Select(i => i.Name));
            Assert.Equal([a, b], inputs.Select(i => i.Source));
            Assert.Equal(DType.Float16, inputs[1].Tensor.DType);
        }
        finally
        {
            foreach (var input in inputs) input.Tensor.Dispose();
        }
    }

    [Fact]
    public void BatchesOfTheInputsMustAgree()
    {
        using var folder = new TempFolder();
        var a = folder.File("a.npy");
        var b = folder.File("b.npy");
        using (var t = CpuTensor.Zeros(DType.Float32, 2, 4)) NpyFile.Write(a, t);
        using (var t = CpuTensor.Zeros(DType.Float32, 3, 2, 3)) NpyFile.Write(b, t);
        var e = Assert.Throws<ToolException>(() => InputLoader.Load(s_twoInputs, [new InputSpec("a", a), new InputSpec("b", b)], 1, 0));
        Assert.Equal(3, e.ExitCode);
        Assert.Equal($"input 'b' from {b} has batch 3 but an earlier input has batch 2", e.Message);
    }

    [Fact]
    public void EveryInputNeedsAValue()
    {
        using var folder = new TempFolder();
        var a = folder.File("a.npy");
        using (var t = CpuTensor.Zeros(DType.Float32, 1, 4)) NpyFile.Write(a, t);
        var e = Assert.Throws<ToolException>(() => InputLoader.Load(s_twoInputs, [new InputSpec("a", a)], 1, 0));
        Assert.Equal("--input: no value for input(s) b of TwoInputs", e.Message);
    }

    [Fact]
    public void RandomInputFollowsBatchAndSeed()
    {
        var first = InputLoader.Load(s_twoInputs, [], batch: 5, seed: 3);
        var second = InputLoader.Load(s_twoInputs, [], batch: 5, seed: 3);
        try
        {
            Assert.Equal([new Shape(5, 4), new Shape(5, 2, 3)], first.Select(i => i.Tensor.Shape));
            Assert.Equal(["random, seed 4", "random, seed 5"], first.Select(i => i.Source));
            Assert.Equal(first[0].Tensor.ToFloatArray(), second[0].Tensor.ToFloatArray());
            Assert.NotEqual(first[0].Tensor.ToFloatArray().Take(4), first[1].Tensor.ToFloatArray().Take(4));
        }
        finally
        {
            foreach (var input in first.Concat(second)) input.Tensor.Dispose();
        }
    }

    [Fact]
    public void ProgressStaysQuietForAWriterThatIsNotTheConsole()
    {
        using var writer = new StringWriter();
        Assert.False(Progress.IsEnabledFor(writer));
        using (Progress.Start("step", writer)) Thread.Sleep(400);
        Assert.Equal("", writer.ToString());
    }
}
