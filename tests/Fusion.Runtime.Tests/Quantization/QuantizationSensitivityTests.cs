using Fusion.Quantization;
using Fusion.Testing;

namespace Fusion.Runtime.Tests.Quantization;

/// <summary>
/// <see cref="QuantizationSensitivity"/> on the README classifier (mlp.fc1, mlp.fc2, head), calibrated on fresh batches and evaluated
/// on others: with one layer's threshold made far too small (its input clipped hard) that layer must rank first and keeping it
/// must take most of the whole plan's error away; each figure is checked against a simulation run here by hand.
/// </summary>
public sealed class QuantizationSensitivityTests
{
    [Theory]
    [InlineData("mlp.fc1")]
    [InlineData("mlp.fc2")]
    [InlineData("head")]
    public void AClippedLayerRanksFirstAndKeepingItRestoresAccuracy(string clipped)
    {
        int seed = TestData.NewSeed();
        var model = ReadmeClassifierData.WithRandomWeights(new Random(seed));
        var thresholds = Calibrate(model, seed);
        thresholds[clipped + ".input"] /= 20; // most of its inputs saturate at ±127
        var batches = Enumerable.Range(0, 3).Select(b => (Tensor)TestData.Uniform(seed + 50 + b, -2, 2, 3 + b, 7, 12).ToCpu()).ToList();
        try
        {
            var passes = new List<string>();
            var report = QuantizationSensitivity.Measure(model, thresholds, batches, maxKept: 5, progress: passes.Add, policies: [clipped, "mlp", " head , mlp.fc1"]);

            Assert.Equal(ReadmeClassifier.Info.Name, report.Model);
            Assert.Equal(3, report.Batches);
            Assert.Equal(3 + 4 + 5, report.Rows); // a sample each: the classifier's [batch, 5, 1] output
            Assert.Equal(["head", "mlp.fc1", "mlp.fc2"], report.Layers.Select(l => l.Layer).Order(StringComparer.Ordinal));
            Assert.Equal(clipped, report.Layers[0].Layer);
            Assert.True(report.Layers.Zip(report.Layers.Skip(1), (a, b) => a.Accuracy.RelativeL2 >= b.Accuracy.RelativeL2).All(x => x), "ranked by relative L2");
            // Steps: none kept, then the first 1 and 2 (at most layers − 1: keeping all would be no int8 plan).
            Assert.Equal([0, 1, 2], report.Steps.Select(s => s.KeptHalf.Count));
            Assert.Equal([clipped], report.Steps[1].KeptHalf);
            Assert.Equal(["head", "mlp.fc1", "mlp.fc2"], passes.Take(3).Order(StringComparer.Ordinal));
            Assert.Equal(["all int8", "all int8 but 1", "all int8 but 2", $"policy {clipped}", "policy mlp", "policy  head , mlp.fc1"], passes.Skip(3));
            // A keep-list naming the clipped layer rounds what the first step rounds: the same figures.
            Assert.Equal([clipped], report.Policies[0].KeptHalf);
            Assert.Equal(report.Steps[1].Accuracy, report.Policies[0].Accuracy);
            Assert.Equal(["mlp.fc1", "mlp.fc2"], report.Policies[1].KeptHalf.Order(StringComparer.Ordinal)); // a module keeps its Linears
            Assert.Equal(["head", "mlp.fc1"], report.Policies[2].KeptHalf.Order(StringComparer.Ordinal));
            Assert.Equal(report.Layers.Single(l => l.Layer == "mlp.fc2").Accuracy, report.Policies[2].Accuracy); // fc2 alone rounded
            Assert.True(report.Steps[1].Accuracy.RelativeL2 < 0.5 * report.Steps[0].Accuracy.RelativeL2,
                $"keeping {clipped}: {report.Steps[1].Accuracy.RelativeL2:g3}, all int8 {report.Steps[0].Accuracy.RelativeL2:g3} (seed {seed})");

            // The figures are the simulation's: all int8 but the clipped layer, by hand.
            var others = report.Layers.Select(l => l.Layer).Where(l => l != clipped).ToList();
            double diff = 0, norm = 0;
            int agree = 0;
            foreach (var batch in batches)
            {
                var reference = SimulatedInt8Tests.Values(model.Forward(batch));
                float[] simulated;
                using (new SimulatedInt8(model, thresholds, others)) simulated = SimulatedInt8Tests.Values(model.Forward(batch));
                for (int i = 0; i < reference.Length; i++)
                {
                    diff += (simulated[i] - (double)reference[i]) * (simulated[i] - (double)reference[i]);
                    norm += (double)reference[i] * reference[i];
                }
                for (int s = 0; s < reference.Length / 5; s++)
                    if (ArgMax(simulated, s) == ArgMax(reference, s)) agree++;
            }
            Assert.Equal(Math.Sqrt(diff / norm), report.Steps[1].Accuracy.RelativeL2, 12);
            Assert.Equal(agree, report.Steps[1].Accuracy.Agreements);
            Assert.Equal(12, report.Steps[1].Accuracy.Rows);
            // The first step at or under a bound, or none: no step of an int8 plan beats the float model itself.
            var best = report.Steps.MinBy(st => st.Accuracy.RelativeL2)!;
            Assert.Equal(best.Accuracy.RelativeL2, report.FirstReaching(0, best.Accuracy.RelativeL2)!.Accuracy.RelativeL2);
            Assert.Null(report.FirstReaching(0, 0));

            // Without the ranking: no pass a layer, no keep step past the first, the same whole-plan and policy figures.
            passes.Clear();
            var quick = QuantizationSensitivity.Measure(model, thresholds, batches, maxKept: 5, progress: passes.Add, policies: [clipped, "mlp"], rankLayers: false);
            Assert.Empty(quick.Layers);
            Assert.Equal(["all int8", $"policy {clipped}", "policy mlp"], passes);
            Assert.Empty(quick.Steps.Single().KeptHalf);
            Assert.Equal(report.Steps[0].Accuracy, quick.Steps.Single().Accuracy);
            Assert.Equal(report.Policies[0].Accuracy, quick.Policies[0].Accuracy);
            Assert.Equal(report.Policies[1].Accuracy, quick.Policies[1].Accuracy);
        }
        finally
        {
            foreach (var b in batches) b.Dispose();
        }
    }

    [Fact]
    public void MissingThresholdsAndEmptySetsAreRefusedByName()
    {
        var model = ReadmeClassifierData.WithRandomWeights(new Random(5));
        var thresholds = new Dictionary<string, double> { ["mlp.fc1.input"] = 1, ["mlp.fc2.input"] = 1 };
        using var x = TestData.Random(6, 2, 7, 12).ToCpu();
        var e = Assert.Throws<FusionException>(() => QuantizationSensitivity.Measure(model, thresholds, [x]));
        Assert.Contains("head.input", e.Message);
        thresholds["head.input"] = 1;
        Assert.Contains("no evaluation batch", Assert.Throws<FusionException>(() => QuantizationSensitivity.Measure(model, thresholds, [])).Message);
        // Inputs that overflow the model: a pass with NaN or ∞ outputs is named, not ranked.
        using var huge = CpuTensor.FromArray(Enumerable.Repeat(float.MaxValue, 2 * 7 * 12).ToArray(), 2, 7, 12);
        Assert.Contains("NaN or ∞", Assert.Throws<FusionException>(() => QuantizationSensitivity.Measure(model, thresholds, [huge])).Message);
    }

    [Fact]
    public void KeepListsMatchAsTheGeneratorsDoAndUnmatchedEntriesAreRefused()
    {
        string[] layers = ["layers.0.blocks.0.attn.qkv", "layers.0.blocks.0.mlp.fc2", "layers.1.downsample.reduction", "layers.1.blocks.0.mlp.fc2", "head.fc"];
        Assert.Equal(["layers.0.blocks.0.mlp.fc2", "layers.1.downsample.reduction", "layers.1.blocks.0.mlp.fc2"],
            QuantizationSensitivity.Matching("M", layers, "layers.*.blocks.*.mlp.fc2, layers.*.downsample"));
        Assert.Equal(["layers.0.blocks.0.attn.qkv", "layers.0.blocks.0.mlp.fc2"], QuantizationSensitivity.Matching("M", layers, "layers.0"));
        Assert.Equal(["head.fc"], QuantizationSensitivity.Matching("M", layers, "head"));
        Assert.Contains("'layers.2' matches none", Assert.Throws<FusionException>(() => QuantizationSensitivity.Matching("M", layers, "head,layers.2")).Message);
        Assert.Contains("names an operator", Assert.Throws<FusionException>(() => QuantizationSensitivity.Matching("M", layers, "F.Linear")).Message);
        Assert.Contains("no entry", Assert.Throws<FusionException>(() => QuantizationSensitivity.Matching("M", layers, " , ")).Message);
        // Segment by segment: a prefix of a segment's text is no match.
        Assert.Throws<FusionException>(() => QuantizationSensitivity.Matching("M", layers, "layers.0.blocks.0.attn.qk"));
    }

    private static Dictionary<string, double> Calibrate(ReadmeClassifier model, int seed)
    {
        using var calibration = new LinearInputCalibration(model);
        for (int b = 0; b < 4; b++)
        {
            using var batch = TestData.Uniform(seed + 1 + b, -2, 2, 4, 7, 12).ToCpu();
            calibration.Run(batch);
        }
        return calibration.Thresholds(CalibrationMethod.Max).ToDictionary(t => t.Key, t => t.Value);
    }

    private static int ArgMax(float[] values, int sample)
    {
        int best = 0;
        for (int i = 1; i < 5; i++)
            if (values[sample * 5 + i] > values[sample * 5 + best]) best = i;
        return best;
    }
}
