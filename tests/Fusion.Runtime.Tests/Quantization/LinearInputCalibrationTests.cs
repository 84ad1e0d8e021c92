using Fusion.Quantization;
using Fusion.Runtime.Tests.IO;
using Fusion.Testing;

namespace Fusion.Runtime.Tests.Quantization;

/// <summary>
/// Calibrating <see cref="ReadmeClassifier"/> (three Linears: mlp.fc1, mlp.fc2, head) over fresh random batches through its eager
/// Forward: one histogram per Linear input, named after the layer, each holding every value of every batch; mlp.fc1's input is
/// the layer norm of x and head's the mean over tokens, so their maxima are checked against those computed independently.
/// </summary>
public sealed class LinearInputCalibrationTests : TempDirectoryTest
{
    [Fact]
    public void EachLinearsInputIsObservedUnderItsName()
    {
        int seed = TestData.NewSeed();
        var model = ReadmeClassifierData.WithRandomWeights(new Random(seed));
        var batches = Enumerable.Range(0, 3).Select(i => TestData.Random(seed + 1 + i, 2 + i, 7, 12)).ToList();
        // head's input, computed before the calibration opens (these calls would be observed too).
        double headMax = 0;
        foreach (var batch in batches)
        {
            using var x = batch.ToCpu();
            using var mean = EagerScope.Run(() => F.Mean(F.Add(x, model.mlp.Forward(F.LayerNorm(x, model.norm))), 1));
            headMax = Math.Max(headMax, ((CpuTensor)mean).ToFloatArray().Max(Math.Abs));
        }
        using (var calibration = new LinearInputCalibration(model))
        {
            foreach (var batch in batches)
            {
                using var x = batch.ToCpu();
                using var y = model.Forward(x);
            }
            Assert.Equal(3, calibration.Batches);
            Assert.Equal(["head.input", "mlp.fc1.input", "mlp.fc2.input"], calibration.Histograms.Keys.Order(StringComparer.Ordinal));
            Assert.Equal((2 + 3 + 4) * 7 * 12, calibration.Histograms["mlp.fc1.input"].Count);
            Assert.Equal((2 + 3 + 4) * 7 * 24, calibration.Histograms["mlp.fc2.input"].Count);
            Assert.Equal((2 + 3 + 4) * 12, calibration.Histograms["head.input"].Count);
            Assert.Equal(headMax, calibration.Histograms["head.input"].Max, 1e-6);

            var weights = Dir.File("readme.safetensors");
            File.WriteAllBytes(weights, [1, 2, 3]);
            var scales = calibration.ToScaleFile(weights, CalibrationMethod.Percentile);
            var path = Dir.File("readme.scales.json");
            scales.Save(path);
            var loaded = ScaleFile.Load(path, ReadmeClassifier.Info.Name, ScaleFile.HashOf(weights));
            Assert.True(loaded.ThresholdOf("mlp.fc2.input") <= calibration.Histograms["mlp.fc2.input"].Max);
            Assert.True(loaded.ThresholdOf("mlp.fc1.input") > 0);
        }
        // Closed: Forward observes nothing and a new calibration may open.
        using var after = new LinearInputCalibration(model);
        Assert.Empty(after.Histograms);
    }

    /// <summary>
    /// <see cref="SmallConvNet"/>: each one-group convolution (the stem, the 1×1, the shortcut) reports its NCHW input under its name,
    /// every element of it (the windows' zero padding is no value of the tensor); the depthwise and grouped ones, which the Int8 plan
    /// leaves fp16, report nothing. The stem's input is the image itself, so its maximum is the batches'.
    /// </summary>
    [Fact]
    public void EachOneGroupConvolutionsInputIsObservedUnderItsName()
    {
        int seed = TestData.NewSeed();
        var model = new SmallConvNet();
        ConvNetWeights.Initialize(model, seed);
        var batches = Enumerable.Range(0, 2).Select(i => TestData.Uniform(seed + 1 + i, -3, 3, 1 + i, 3, 17, 15)).ToList();
        using var calibration = new LinearInputCalibration(model);
        foreach (var batch in batches)
        {
            using var x = batch.ToCpu();
            calibration.Run(x);
        }
        Assert.Equal(2, calibration.Batches);
        Assert.Equal(["head.input", "pw.input", "shortcut.input", "stem.input"], calibration.Histograms.Keys.Order(StringComparer.Ordinal));
        Assert.Equal((1 + 2) * 3 * 17 * 15, calibration.Histograms["stem.input"].Count);
        Assert.Equal((1 + 2) * 12 * 9 * 8, calibration.Histograms["pw.input"].Count);
        Assert.Equal((1 + 2) * 12 * 9 * 8, calibration.Histograms["shortcut.input"].Count);
        Assert.Equal(batches.Max(b => b.Data.Max(Math.Abs)), calibration.Histograms["stem.input"].Max, 1e-6);
    }

    [Fact]
    public void NothingSeenIsAnError()
    {
        var model = ReadmeClassifierData.WithRandomWeights(new Random(1));
        using var calibration = new LinearInputCalibration(model);
        var e = Assert.Throws<FusionException>(() => calibration.Thresholds(CalibrationMethod.Max));
        Assert.Contains(ReadmeClassifier.Info.Name, e.Message);
        Assert.Throws<InvalidOperationException>(() => new LinearInputCalibration(model));
    }
}
