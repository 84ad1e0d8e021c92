using Fusion.IO;

namespace Fusion.Run.Tests;

/// <summary>Parsing and every error: each is one "error: ..." line and its exit code (2 command line, 3 file or input).</summary>
public class ArgumentTests
{
    [Fact]
    public void HelpListsTheOptionsAndExitsZero()
    {
        var run = ToolRun.Of("--help");
        Assert.Equal(0, run.ExitCode);
        foreach (var option in new[] { "--weights", "--input", "--batch", "--device", "--precision", "--warmup", "--iters", "--graphs", "--fast-run", "--profile", "--json", "--assembly" })
            Assert.Contains(option, run.Output);
    }

    [Fact]
    public void OptionsAreReadAndChecked()
    {
        var commandLine = new RunCommandLine();
        var options = commandLine.Read(commandLine.Root.Parse(["swin-t", "--weights", "w.safetensors", "--input", "x:a.npy", "--input", "b.npy", "--batch", "4",
            "--device", "cuda:0", "--precision", "fp16", "--warmup", "2", "--iters", "7", "--graphs", "--fast-run", "--json", "out.json", "--seed", "9"]));
        Assert.Equal("swin-t", options.Model);
        Assert.Equal("w.safetensors", options.Weights);
        Assert.Equal([new InputSpec("x", "a.npy"), new InputSpec(null, "b.npy")], options.Inputs);
        Assert.Equal(4, options.Batch);
        Assert.Equal(DeviceRequest.Cuda, options.Device);
        Assert.Equal("cuda:0", options.DeviceText);
        Assert.Equal("fp16", options.Precision);
        Assert.Equal((2, 7, 9), (options.Warmup, options.Iterations, options.Seed));
        Assert.True(options.Graphs && options.FastRun && !options.Profile);
        Assert.Equal("out.json", options.Json);
    }

    [Fact]
    public void DefaultsAreAutoDeviceThreeWarmupsTenIterations()
    {
        var commandLine = new RunCommandLine();
        var options = commandLine.Read(commandLine.Root.Parse(["swin-blocks"]));
        Assert.Equal((DeviceRequest.Auto, 3, 10, 1, (string?)null), (options.Device, options.Warmup, options.Iterations, options.Batch, options.Precision));
    }

    [Theory]
    [InlineData("auto", "Auto")]
    [InlineData("cpu", "Cpu")]
    [InlineData("cuda", "Cuda")]
    [InlineData("CUDA:0", "Cuda")]
    public void DeviceNames(string text, string expected) => Assert.Equal(Enum.Parse<DeviceRequest>(expected), RunOptions.ParseDevice(text));

    [Fact]
    public void UnknownModel()
    {
        var run = ToolRun.Of("resnet-101", "--device", "cpu");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("error: unknown model 'resnet-101' (known: swin-t, swin-blocks, vit-b16, resnet-50, convnext-t, swin-t-views; ", run.Error);
    }

    /// <summary>Errors found before any device work: the exact line on stderr and the exit code (2 command line, 3 missing file).</summary>
    [Theory]
    [InlineData(2, "--device tpu: unknown device (expected auto, cpu, cuda or cuda:0)", "swin-blocks", "--device", "tpu")]
    [InlineData(2, "--device cuda:1: only CUDA device 0 is supported (use cuda or cuda:0)", "swin-blocks", "--device", "cuda:1")]
    [InlineData(2, "--graphs needs CUDA (CUDA graphs); the device is the CPU", "swin-blocks", "--device", "cpu", "--graphs")]
    [InlineData(3, "--weights /no/such/weights.safetensors: file not found", "swin-blocks", "--device", "cpu", "--weights", "/no/such/weights.safetensors")]
    [InlineData(3, "--input x:/no/such/input.npy: file not found", "swin-blocks", "--device", "cpu", "--input", "x:/no/such/input.npy")]
    [InlineData(3, "--assembly /no/such/models.dll: file not found", "Model", "--assembly", "/no/such/models.dll", "--device", "cpu")]
    public void ErrorLineAndExitCode(int exitCode, string message, params string[] args)
    {
        var run = ToolRun.Of(args);
        Assert.Equal(exitCode, run.ExitCode);
        Assert.Equal("error: " + message, run.Error.Trim());
    }

    [Fact]
    public void GraphsWithProfileIsNoLongerAUsageError()
    {
        // Together they time the kernels inside the graph (CudaRunTests); here, without a GPU, only the device fails.
        var run = ToolRun.Of("swin-blocks", "--device", "cpu", "--graphs", "--profile");
        Assert.Equal(2, run.ExitCode);
        Assert.Equal("error: --graphs needs CUDA (CUDA graphs); the device is the CPU", run.Error.Trim());
    }

    [Fact]
    public void OutputMustBeANpyFileInAFolderThatExists()
    {
        using var folder = new TempFolder();
        var notNpy = ToolRun.Of("swin-blocks", "--device", "cpu", "--output", folder.File("out.txt"));
        Assert.Equal(2, notNpy.ExitCode);
        Assert.Equal($"error: --output {folder.File("out.txt")}: the output is written as .npy (name the file FILE.npy)", notNpy.Error.Trim());

        var missing = Path.Combine(folder.Path, "no-such-folder", "out.npy");
        var run = ToolRun.Of("swin-blocks", "--device", "cpu", "--output", missing);
        Assert.Equal(3, run.ExitCode);
        Assert.StartsWith($"error: --output {missing}: folder ", run.Error.Trim());
        Assert.Empty(Directory.GetFileSystemEntries(folder.Path));
    }

    [Theory]
    [InlineData("--precision", "bf16", "bf16")]
    [InlineData("--iters", "0", "--iters 0: must be at least 1")]
    [InlineData("--warmup", "-1", "--warmup -1: must not be negative")]
    [InlineData("--batch", "0", "--batch 0: must be at least 1")]
    [InlineData("--batch", "two", "two")]
    public void BadValues(string option, string value, string message)
    {
        var run = ToolRun.Of("swin-blocks", "--device", "cpu", option, value);
        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("error: ", run.Error);
        Assert.Contains(message, run.Error);
    }

    [Fact]
    public void UnknownOption()
    {
        var run = ToolRun.Of("--bogus");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("error: unknown option '--bogus'", run.Error);
        Assert.Equal(2, ToolRun.Of("swin-blocks", "--bogus").ExitCode);
    }

    [Fact]
    public void MissingModel()
    {
        var run = ToolRun.Of("--device", "cpu");
        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("error: ", run.Error);
    }

    /// <summary>A .npy input checked against the model: the message names the input, the file, the expected and the actual shape and dtype.</summary>
    [Theory]
    [InlineData("f32", "1,56,56,64", "x:", 3, "input 'x' from {0}: expected [N, 56, 56, 96] f32 or f16 (N = batch), got [1, 56, 56, 64] f32")]
    [InlineData("i32", "1,56,56,96", "", 3, "input 'x' from {0}: expected [N, 56, 56, 96] f32 or f16 (N = batch), got [1, 56, 56, 96] i32")]
    [InlineData("f32", "2,56,56", "x:", 3, "input 'x' from {0}: expected [N, 56, 56, 96] f32 or f16 (N = batch), got [2, 56, 56] f32")]
    [InlineData("f32", "1,56,56,96", "y:", 2, "--input y:{0}: SwinStage1Blocks has no input 'y' (its inputs: x)")]
    public void NpyInputThatDoesNotFit(string dtype, string dims, string prefix, int exitCode, string message)
    {
        using var folder = new TempFolder();
        var path = folder.File("input.npy");
        var shape = dims.Split(',').Select(int.Parse).ToArray();
        using (var tensor = CpuTensor.Zeros(dtype == "i32" ? DType.Int32 : DType.Float32, shape)) NpyFile.Write(path, tensor);
        var run = ToolRun.Of("swin-blocks", "--device", "cpu", "--input", prefix + path);
        Assert.Equal(exitCode, run.ExitCode);
        Assert.Equal("error: " + string.Format(System.Globalization.CultureInfo.InvariantCulture, message, path), run.Error.Trim());
    }

    [Fact]
    public void ImagesNeedAnImageModel()
    {
        using var folder = new TempFolder();
        var path = folder.File("grey.pgm");
        File.WriteAllBytes(path, [.. "P5\n2 2\n255\n"u8, 0, 64, 128, 255]);
        var run = ToolRun.Of("swin-blocks", "--device", "cpu", "--input", path);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("images need a model with one input [N, 3, S, S]", run.Error);
    }

    [Fact]
    public void ModelFromAnAssemblyByShortOrFullName()
    {
        var assembly = typeof(FusionRunApp).Assembly; // holds the samples' models
        Assert.Equal("SwinStage1Blocks", ModelCatalog.FromAssembly("SwinStage1Blocks", assembly).Info.Name);
        Assert.Equal("SwinStage1Blocks", ModelCatalog.FromAssembly("SwinTiny.Model.SwinStage1Blocks", assembly).Info.Name);
        var unknown = Assert.Throws<ToolException>(() => ModelCatalog.FromAssembly("Nope", assembly));
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("unknown model 'Nope' in fusion-run (its models: ", unknown.Message);
        Assert.Contains("SwinTiny.Model.SwinTransformerTiny", unknown.Message);
        Assert.Contains("ViT.Model.VisionTransformerBase16", unknown.Message);
    }

}

/// <summary>--assembly look-ups against the hand-written models of this test assembly.</summary>
public class AssemblyModelTests
{
    private static readonly System.Reflection.Assembly s_tests = typeof(AssemblyModelTests).Assembly;

    [Fact]
    public void ShortNameSharedByTwoClassesIsAmbiguous()
    {
        var e = Assert.Throws<ToolException>(() => ModelCatalog.FromAssembly("Twin", s_tests));
        Assert.Equal(2, e.ExitCode);
        Assert.Equal("model 'Twin' is ambiguous in Fusion.Run.Tests: Fusion.Run.Tests.ModelsA.Twin, Fusion.Run.Tests.ModelsB.Twin; give the full name", e.Message);
        Assert.Equal("Twin", ModelCatalog.FromAssembly("Fusion.Run.Tests.ModelsB.Twin", s_tests).Info.Name);
    }

    [Fact]
    public void ClassWithoutAParameterlessConstructor()
    {
        var e = Assert.Throws<ToolException>(() => ModelCatalog.FromAssembly("NeedsArguments", s_tests));
        Assert.Equal("model Fusion.Run.Tests.Models.NeedsArguments has no public parameterless constructor", e.Message);
    }

    [Fact]
    public void RunsAModelFromAnAssemblyFile()
    {
        var run = ToolRun.Of("Fusion.Run.Tests.ModelsA.Twin", "--assembly", s_tests.Location, "--device", "cpu", "--warmup", "0", "--iters", "3", "--batch", "2");
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains("model:       Twin: 0 operators after fusion, 0 generated kernels, 0 GEMMs, 0 templates, 0 parameters", run.OutputLines);
        Assert.Contains("input:       x [2, 2] as f32 from random, seed 1", run.OutputLines);
        Assert.Single(run.OutputLines, l => l.StartsWith("wall: avg ", StringComparison.Ordinal) && l.EndsWith("over 3 iterations", StringComparison.Ordinal));
    }
}
