using System.Text.Json.Nodes;
using Fusion.IO;
using Fusion.Quantization;
using Fusion.Run.Tests.Models;
using Fusion.Testing;

namespace Fusion.Run.Tests;

/// <summary>
/// fusion-run sensitivity on <see cref="OddMlp"/> (fc1, fc2) with fresh random weights, calibrated by fusion-run calibrate and
/// evaluated on other batches: its table and --json hold what <see cref="QuantizationSensitivity.Measure"/> gives in-process for
/// the same files, and each refusal names what is wrong with its exit code.
/// </summary>
public sealed class SensitivityTests
{
    private static readonly string[] s_model = [typeof(OddMlp).FullName!, "--assembly", typeof(OddMlp).Assembly.Location];

    [Fact]
    public void RanksTheLayersAsTheLibraryDoes()
    {
        using var folder = new TempFolder();
        int seed = TestData.NewSeed();
        var weights = CalibrateTests.WriteWeights(folder, seed);
        CalibrateTests.WriteBatch(folder.File("calib.npy"), seed + 1, 40);
        Directory.CreateDirectory(folder.File("eval"));
        CalibrateTests.WriteBatch(folder.File("eval/a.npy"), seed + 2, 9);
        CalibrateTests.WriteBatch(folder.File("eval/b.npy"), seed + 3, 7);
        var calibrated = ToolRun.Of(["calibrate", .. s_model, "--weights", weights, "--calib", folder.File("calib.npy"), "--method", "max"]);
        Assert.True(calibrated.ExitCode == 0, calibrated.Error);

        var run = ToolRun.Of(["sensitivity", .. s_model, "--weights", weights, "--eval", folder.File("eval"), "--json", folder.File("s.json"), "--policy", "fc2"]);
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains("3 batch(es), 16 output rows", run.Output); // 9 rows cut 8 + 1 by the default --eval-batch, then 7
        Assert.Contains("keep  0", run.Output);
        Assert.Contains("keep-list:", run.Output);

        // The same measurement in-process, on the same files.
        var model = new OddMlp();
        model.LoadWeights(weights);
        var scales = ScaleFile.Load(folder.File("odd.scales.json"), OddMlp.Info.Name, ScaleFile.HashOf(weights));
        using var a = NpyFile.Read(folder.File("eval/a.npy"));
        using var b = NpyFile.Read(folder.File("eval/b.npy"));
        var expected = QuantizationSensitivity.Measure(model, scales.Thresholds, [a, b], policies: ["fc2"]);

        var json = JsonNode.Parse(File.ReadAllText(folder.File("s.json")))!;
        Assert.Equal(OddMlp.Info.Name, (string?)json["model"]);
        Assert.Equal(16, (int)json["rows"]!);
        var layers = json["layers"]!.AsArray();
        Assert.Equal(expected.Layers.Select(l => l.Layer), layers.Select(l => (string?)l!["layer"]));
        for (int i = 0; i < layers.Count; i++)
        {
            Assert.Equal(expected.Layers[i].Accuracy.RelativeL2, (double)layers[i]!["accuracy"]!["relativeL2"]!);
            Assert.Equal(expected.Layers[i].Accuracy.Agreements, (int)layers[i]!["accuracy"]!["agreements"]!);
            Assert.Contains(expected.Layers[i].Layer, run.Output);
        }
        var steps = json["steps"]!.AsArray();
        Assert.Equal(2, steps.Count); // nothing kept, then the worst of the two
        Assert.Empty(steps[0]!["keptHalf"]!.AsArray());
        Assert.Equal([expected.Layers[0].Layer], steps[1]!["keptHalf"]!.AsArray().Select(k => (string?)k));
        Assert.Equal(expected.Steps[0].Accuracy.RelativeL2, (double)steps[0]!["accuracy"]!["relativeL2"]!);
        var policy = json["policies"]!.AsArray().Single()!;
        Assert.Equal("fc2", (string?)policy["policy"]);
        Assert.Equal(expected.Policies[0].Accuracy.RelativeL2, (double)policy["accuracy"]!["relativeL2"]!);
        Assert.Contains("keeping 1: fc2", run.Output);
        Assert.True(expected.Steps[0].Accuracy.RelativeL2 > 1e-4, $"all int8: relative L2 {expected.Steps[0].Accuracy.RelativeL2:g3}: nothing rounded? (seed {seed})");

        // --no-ranking: the whole plan and the policy alone, with the figures of the full run.
        var quick = ToolRun.Of(["sensitivity", .. s_model, "--weights", weights, "--eval", folder.File("eval"), "--no-ranking", "--policy", "fc2",
            "--json", folder.File("quick.json")]);
        Assert.True(quick.ExitCode == 0, quick.Error);
        Assert.Contains("not ranked (--no-ranking)", quick.Output);
        Assert.DoesNotContain("keep-list:", quick.Output);
        var quickJson = JsonNode.Parse(File.ReadAllText(folder.File("quick.json")))!;
        Assert.Empty(quickJson["layers"]!.AsArray());
        Assert.Equal(expected.Steps[0].Accuracy.RelativeL2, (double)quickJson["steps"]!.AsArray().Single()!["accuracy"]!["relativeL2"]!);
        Assert.Equal(expected.Policies[0].Accuracy.RelativeL2, (double)quickJson["policies"]!.AsArray().Single()!["accuracy"]!["relativeL2"]!);
        ToolRun.AssertRefused(2, "--keep-steps with --no-ranking",
            ["sensitivity", .. s_model, "--weights", weights, "--eval", folder.File("eval"), "--no-ranking", "--keep-steps", "3"]);

        // --eval-batch 4 cuts the two files (9 and 7 rows) into 3 + 2 batches; OddMlp's rows are independent, so the figures stay.
        var cut = ToolRun.Of(["sensitivity", .. s_model, "--weights", weights, "--eval", folder.File("eval"), "--eval-batch", "4", "--json", folder.File("cut.json")]);
        Assert.True(cut.ExitCode == 0, cut.Error);
        Assert.Contains("5 batch(es), 16 output rows", cut.Output);
        var cutLayers = JsonNode.Parse(File.ReadAllText(folder.File("cut.json")))!["layers"]!.AsArray();
        for (int i = 0; i < layers.Count; i++)
        {
            Assert.Equal((string?)layers[i]!["layer"], (string?)cutLayers[i]!["layer"]);
            double l2 = (double)layers[i]!["accuracy"]!["relativeL2"]!;
            Assert.Equal(l2, (double)cutLayers[i]!["accuracy"]!["relativeL2"]!, 1e-6 * l2);
            Assert.Equal((int)layers[i]!["accuracy"]!["agreements"]!, (int)cutLayers[i]!["accuracy"]!["agreements"]!);
        }
    }

    [Fact]
    public void RefusalsNameWhatIsWrong()
    {
        using var folder = new TempFolder();
        var weights = CalibrateTests.WriteWeights(folder, 5);
        var other = CalibrateTests.WriteWeights(folder, 6, "other.safetensors");
        CalibrateTests.WriteBatch(folder.File("calib.npy"), 7, 12);
        CalibrateTests.WriteBatch(folder.File("wide.npy"), 8, 4, columns: 31);
        Assert.Equal(0, ToolRun.Of(["calibrate", .. s_model, "--weights", weights, "--calib", folder.File("calib.npy"), "--method", "max"]).ExitCode);

        void Refused(int code, string message, params string[] args) => ToolRun.AssertRefused(code, message, ["sensitivity", .. s_model, .. args]);

        Refused(2, "needs --weights", "--eval", folder.File("calib.npy"));
        Refused(2, "needs --eval", "--weights", weights);
        Refused(2, "--keep-steps -1", "--weights", weights, "--eval", folder.File("calib.npy"), "--keep-steps", "-1");
        Refused(2, "'fc3' matches none", "--weights", weights, "--eval", folder.File("calib.npy"), "--policy", "fc1,fc3");
        Refused(3, "input 'x' from", "--weights", weights, "--eval", folder.File("wide.npy"));
        Refused(3, "--eval", "--weights", weights, "--eval", folder.File("missing.npy"));
        Refused(3, "--scales", "--weights", other, "--eval", folder.File("calib.npy")); // no other.scales.json
        Refused(3, "--scales", "--weights", other, "--scales", folder.File("odd.scales.json"), "--eval", folder.File("calib.npy")); // another weight file's
        using (var bad = CpuTensor.FromArray(Enumerable.Repeat(float.MaxValue, 2 * OddMlp.Width).ToArray(), 2, OddMlp.Width)) NpyFile.Write(folder.File("huge.npy"), bad);
        Refused(1, "NaN or ∞", "--weights", weights, "--eval", folder.File("huge.npy"));
        Assert.Equal(2, ToolRun.Of([.. s_model, "sensitivity"]).ExitCode);
    }
}
