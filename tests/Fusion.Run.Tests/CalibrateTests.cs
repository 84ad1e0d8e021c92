using Fusion.IO;
using Fusion.Quantization;
using Fusion.Run.Tests.Models;
using Fusion.Testing;
using SwinTiny;

namespace Fusion.Run.Tests;

/// <summary>
/// fusion-run calibrate on <see cref="OddMlp"/> (Linears fc1 and fc2) with fresh random weights and batches in temporary files:
/// the scale file it writes loads for that model and weight file, fc1's input is x itself so its max threshold is max |x| over
/// every batch; and each refusal with its line and exit code (2 command line, 3 input files, 1 a failure while running).
/// </summary>
public sealed class CalibrateTests
{
    private static readonly string[] s_model = [typeof(OddMlp).FullName!, "--assembly", typeof(OddMlp).Assembly.Location];

    /// <summary>Fresh random weights of <see cref="OddMlp"/> in a safetensors file of <paramref name="folder"/> (sensitivity's tests write theirs so too).</summary>
    internal static string WriteWeights(TempFolder folder, int seed, string name = "odd.safetensors") => WriteWeights(new OddMlp(), folder, seed, name);

    private static string WriteWeights(IFusedModel model, TempFolder folder, int seed, string name)
    {
        RandomWeights.Initialize(model, seed);
        var path = folder.File(name);
        SafetensorsWriter.Write(path, model.NamedParameters().Select(p => SafetensorsEntry.FromParameter(p.Key, p.Parameter)));
        return path;
    }

    /// <summary>A .npy batch of random rows in [−1, 1) (<see cref="OddMlp"/>'s input by default); its values.</summary>
    internal static float[] WriteBatch(string path, int seed, int rows, int columns = OddMlp.Width)
    {
        var values = TestData.Random(seed, rows, columns).ToCpu().ToFloatArray();
        using var tensor = CpuTensor.FromArray(values, rows, columns);
        NpyFile.Write(path, tensor);
        return values;
    }

    [Fact]
    public void WritesTheMaximaOfEveryLinearInput()
    {
        using var folder = new TempFolder();
        int seed = TestData.NewSeed();
        var weights = WriteWeights(folder, seed);
        Directory.CreateDirectory(folder.File("calib"));
        var a = WriteBatch(folder.File("calib/a.npy"), seed + 1, 5);
        var b = WriteBatch(folder.File("calib/b.npy"), seed + 2, 3);
        var c = WriteBatch(folder.File("c.npy"), seed + 3, 7);

        var run = ToolRun.Of(["calibrate", .. s_model, "--weights", weights, "--calib", folder.File("calib"), "--calib", folder.File("c.npy"), "--method", "max"]);
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains("3 file(s), 3 batch(es), 15 sample(s)", run.Output);
        var scales = ScaleFile.Load(folder.File("odd.scales.json"), OddMlp.Info.Name, ScaleFile.HashOf(weights));
        Assert.Equal(CalibrationMethod.Max, scales.Method);
        Assert.Equal(a.Concat(b).Concat(c).Max(Math.Abs), scales.ThresholdOf("fc1.input"), 1e-6);
        Assert.True(scales.ThresholdOf("fc2.input") > 0);
        Assert.Equal(["fc1.input", "fc2.input"], scales.Thresholds.Keys.Order(StringComparer.Ordinal));

        // A .npy of more samples than --calib-batch runs in batches cut along its first axis (7 rows, 2 a batch: 4 batches), with the
        // same maxima as the whole file in one batch: fc1's is max |c|, fc2's (a function of each row alone) the same within rounding.
        var whole = ToolRun.Of(["calibrate", .. s_model, "--weights", weights, "--calib", folder.File("c.npy"), "--method", "max", "--out", folder.File("whole.json")]);
        var cut = ToolRun.Of(["calibrate", .. s_model, "--weights", weights, "--calib", folder.File("c.npy"), "--method", "max", "--calib-batch", "2",
            "--out", folder.File("cut.json")]);
        Assert.True(whole.ExitCode == 0 && cut.ExitCode == 0, whole.Error + cut.Error);
        Assert.Contains("1 file(s), 1 batch(es), 7 sample(s)", whole.Output);
        Assert.Contains("1 file(s), 4 batch(es), 7 sample(s)", cut.Output);
        var wholeScales = ScaleFile.Load(folder.File("whole.json"), OddMlp.Info.Name, ScaleFile.HashOf(weights));
        var cutScales = ScaleFile.Load(folder.File("cut.json"), OddMlp.Info.Name, ScaleFile.HashOf(weights));
        Assert.Equal(c.Max(Math.Abs), cutScales.ThresholdOf("fc1.input"), 1e-6);
        Assert.Equal(wholeScales.ThresholdOf("fc2.input"), cutScales.ThresholdOf("fc2.input"), 1e-5 * wholeScales.ThresholdOf("fc2.input"));

        // Entropy and percentile thresholds never exceed the maximum.
        var again = ToolRun.Of(["calibrate", .. s_model, "--weights", weights, "--calib", folder.File("c.npy"), "--method", "percentile", "--percentile", "90",
            "--out", folder.File("p90.json")]);
        Assert.True(again.ExitCode == 0, again.Error);
        Assert.True(ScaleFile.Load(folder.File("p90.json"), OddMlp.Info.Name, ScaleFile.HashOf(weights)).ThresholdOf("fc1.input") <= c.Max(Math.Abs));
    }

    /// <summary>A raw greymap with random levels (ImageSharp reads it as any other image).</summary>
    private static string WriteGreymap(string path, int width, int height, int seed)
    {
        var pixels = new byte[width * height];
        new Random(seed).NextBytes(pixels);
        File.WriteAllBytes(path, [.. System.Text.Encoding.ASCII.GetBytes($"P5\n{width} {height}\n255\n"), .. pixels]);
        return path;
    }

    [Fact]
    public void CalibratesFromImageFilesInBatches()
    {
        using var folder = new TempFolder();
        int seed = TestData.NewSeed();
        var model = new PixelMlp();
        RandomWeights.Initialize(model, seed);
        var weights = folder.File("pixel.safetensors");
        SafetensorsWriter.Write(weights, model.NamedParameters().Select(p => SafetensorsEntry.FromParameter(p.Key, p.Parameter)));
        Directory.CreateDirectory(folder.File("images"));
        var images = Enumerable.Range(0, 4).Select(i => WriteGreymap(folder.File($"images/{i}.pgm"), 11 + i, 9 + 2 * i, seed + i)).ToList();
        images.Add(WriteGreymap(folder.File("extra.pgm"), 12, 12, seed + 9));

        string[] pixel = [typeof(PixelMlp).FullName!, "--assembly", typeof(PixelMlp).Assembly.Location];
        var run = ToolRun.Of(["calibrate", .. pixel, "--weights", weights, "--calib", folder.File("images"), "--calib", images[^1], "--calib-batch", "2",
            "--method", "max"]);
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains("5 file(s), 3 batch(es), 5 sample(s)", run.Output);
        // fc1 reads the pixels themselves: its max threshold is the largest |value| of the images after the eval transform.
        using var expected = Fusion.Imaging.ImageInput.LoadBatch(images, Fusion.Imaging.ImageTransformOptions.Default with { Size = PixelMlp.Size });
        var scales = ScaleFile.Load(folder.File("pixel.scales.json"), PixelMlp.Info.Name, ScaleFile.HashOf(weights));
        Assert.Equal(expected.ToFloatArray().Max(Math.Abs), scales.ThresholdOf("fc1.input"), 1e-6);

        void Refused(int code, string message, params string[] args) => ToolRun.AssertRefused(code, message, ["calibrate", .. args]);
        File.WriteAllBytes(folder.File("cut.pgm"), [.. "P5\n16 16\n255\n"u8, 1, 2, 3]);
        File.WriteAllText(folder.File("notes.txt"), "not a batch");
        Refused(2, "images need a model with one input [N, 3, S, S]", [.. s_model, "--weights", WriteWeights(folder, seed), "--calib", images[0]]);
        Refused(3, "cut.pgm", [.. pixel, "--weights", weights, "--calib", folder.File("cut.pgm"), "--out", folder.File("cut.json")]);
        Assert.False(File.Exists(folder.File("cut.json")));
        Refused(2, "unknown extension", [.. pixel, "--weights", weights, "--calib", folder.File("notes.txt"), "--out", folder.File("txt.json")]);
        Refused(2, "--calib-batch 0", [.. pixel, "--weights", weights, "--calib", images[0], "--calib-batch", "0", "--out", folder.File("zero.json")]);
    }

    [Fact]
    public void RefusalsNameWhatIsWrong()
    {
        using var folder = new TempFolder();
        var weights = WriteWeights(folder, 5);
        WriteBatch(folder.File("good.npy"), 6, 4);
        WriteBatch(folder.File("wide.npy"), 7, 4, columns: 31);
        Directory.CreateDirectory(folder.File("empty"));
        File.WriteAllText(folder.File("exists.json"), "{}");

        void Refused(int code, string message, params string[] args) => ToolRun.AssertRefused(code, message, ["calibrate", .. s_model, .. args]);

        Refused(2, "needs --weights", "--calib", folder.File("good.npy"));
        Refused(2, "needs --calib", "--weights", weights);
        Refused(2, "'median'", "--weights", weights, "--calib", folder.File("good.npy"), "--method", "median");
        Refused(2, "file exists (pass --overwrite", "--weights", weights, "--calib", folder.File("good.npy"), "--out", folder.File("exists.json"));
        Refused(3, "input 'x' from", "--weights", weights, "--calib", folder.File("wide.npy"));
        Refused(3, "holds no .npy batch", "--weights", weights, "--calib", folder.File("empty"));
        Refused(3, "file not found", "--weights", weights, "--calib", folder.File("missing.npy"));
        Refused(3, "file not found", "--weights", folder.File("missing.safetensors"), "--calib", folder.File("good.npy"));

        // NaN in a batch reaches fc1: a failure naming the layer's input.
        using (var bad = CpuTensor.FromArray(Enumerable.Repeat(float.NaN, 2 * OddMlp.Width).ToArray(), 2, OddMlp.Width)) NpyFile.Write(folder.File("nan.npy"), bad);
        Refused(1, "fc1.input", "--weights", weights, "--calib", folder.File("nan.npy"), "--out", folder.File("nan.json"));
        Assert.False(File.Exists(folder.File("nan.json")));

        var misplaced = ToolRun.Of([.. s_model, "calibrate"]);
        Assert.Equal(2, misplaced.ExitCode);
    }

    /// <summary>
    /// The scale file calibrate writes runs the Int8 plan: `--precision int8 --scales` on the CPU gives the output the model's Int8 plan
    /// gives with the same scales loaded in code (written with --output), and the scales' misuses are refused (exit 2 or 3).
    /// </summary>
    [Fact]
    public void TheScaleFileRunsTheInt8Plan()
    {
        using var folder = new TempFolder();
        int seed = TestData.NewSeed();
        var weights = WriteWeights(folder, seed);
        WriteBatch(folder.File("calib.npy"), seed + 1, 9);
        var input = WriteBatch(folder.File("x.npy"), seed + 2, 4);
        var calibrated = ToolRun.Of(["calibrate", .. s_model, "--weights", weights, "--calib", folder.File("calib.npy"), "--method", "max"]);
        Assert.True(calibrated.ExitCode == 0, calibrated.Error);
        var scales = folder.File("odd.scales.json");

        var run = ToolRun.Of([.. s_model, "--weights", weights, "--device", "cpu", "--precision", "int8", "--scales", scales, "--input", folder.File("x.npy"),
            "--iters", "1", "--warmup", "0", "--output", folder.File("y.npy")]);
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains("2 quantized layer inputs", run.Output);

        var model = new OddMlp();
        model.LoadWeights(weights);
        model.Int8Scales.Load(ScaleFile.Load(scales, OddMlp.Info.Name, ScaleFile.HashOf(weights)));
        using var x = CpuTensor.FromArray(input, 4, OddMlp.Width);
        using var expected = (CpuTensor)model.Run(x, precision: Precision.Int8);
        using var written = NpyFile.Read(folder.File("y.npy"));
        Assert.Equal(expected.ToFloatArray(), written.ToFloatArray());

        void Refused(int code, string message, params string[] args) => ToolRun.AssertRefused(code, message, [.. s_model, "--device", "cpu", .. args]);
        Refused(2, "needs --scales", "--weights", weights, "--precision", "int8");
        Refused(2, "--scales is for --precision int8", "--weights", weights, "--precision", "fp32", "--scales", scales);
        Refused(2, "--scales needs --weights", "--precision", "int8", "--scales", scales);
        Refused(3, "file not found", "--weights", weights, "--precision", "int8", "--scales", folder.File("none.json"));
        var other = WriteWeights(folder, seed + 5, "other.safetensors");
        Refused(3, "calibrate again for these weights", "--weights", other, "--precision", "int8", "--scales", scales);
    }

    /// <summary>
    /// The same scale file runs the Fp8 plan: `--precision fp8 --scales` on the CPU gives what the model's Fp8 plan gives with the
    /// scales loaded in code (a model whose Linears the Fp8 plan quantizes: E4M3 codes, per-tensor scales).
    /// </summary>
    [Fact]
    public void TheScaleFileRunsTheFp8Plan()
    {
        using var folder = new TempFolder();
        int seed = TestData.NewSeed();
        string[] wide = [typeof(WideMlp).FullName!, "--assembly", typeof(WideMlp).Assembly.Location];
        var weights = WriteWeights(new WideMlp(), folder, seed, "wide.safetensors");
        WriteBatch(folder.File("calib.npy"), seed + 1, 9, WideMlp.Width);
        var input = WriteBatch(folder.File("x.npy"), seed + 2, 4, WideMlp.Width);
        var calibrated = ToolRun.Of(["calibrate", .. wide, "--weights", weights, "--calib", folder.File("calib.npy"), "--method", "max", "--out", folder.File("wide.scales.json")]);
        Assert.True(calibrated.ExitCode == 0, calibrated.Error);

        var run = ToolRun.Of([.. wide, "--weights", weights, "--device", "cpu", "--precision", "fp8", "--scales", folder.File("wide.scales.json"),
            "--input", folder.File("x.npy"), "--iters", "1", "--warmup", "0", "--output", folder.File("y.npy")]);
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains("2 quantized layer inputs", run.Output);

        var model = new WideMlp();
        model.LoadWeights(weights);
        model.Int8Scales.Load(ScaleFile.Load(folder.File("wide.scales.json"), WideMlp.Info.Name, ScaleFile.HashOf(weights)));
        using var x = CpuTensor.FromArray(input, 4, WideMlp.Width);
        using var expected = (CpuTensor)model.Run(x, precision: Precision.Fp8);
        using var half = (CpuTensor)model.Run(x, precision: Precision.Half);
        using var written = NpyFile.Read(folder.File("y.npy"));
        Assert.Equal(expected.ToFloatArray(), written.ToFloatArray());
        Assert.NotEqual(half.ToFloatArray(), written.ToFloatArray()); // quantized, not the Half plan
    }
}
