using Fusion.Quantization;
using Fusion.Testing;

namespace Fusion.Runtime.Tests.Quantization;

/// <summary>
/// The compiled Int8 plan on the CPU backend (the plan CI runs): each Linear an exact int8 GEMM with its quantize fused into the
/// producer and the dequantize in the GEMM's epilogue. A one-Linear model equals the int8 Linear reference (<see cref="Int8Linear"/>:
/// the same quantize, exact int32 sums, sum·(sₓ·s_w[j]) + b[j] in float32) bit for bit; <see cref="ReadmeClassifier"/>, calibrated
/// through its eager Forward, stays within 5% relative L2 of the float plan (about 1% for most weights) and moves away from it when
/// the scales are wrong.
/// </summary>
public sealed class Int8PlanTests
{
    [Fact]
    public void OneLinearEqualsTheInt8LinearReference()
    {
        int seed = TestData.NewSeed();
        var (model, x, threshold, expected) = Int8OneLinearCase.Create(seed);
        model.Int8Scales.Load(new Dictionary<string, double> { ["fc.input"] = threshold });

        using var input = x.ToCpu();
        using var output = model.Run(input, precision: Fusion.Precision.Int8);
        var actual = ((CpuTensor)output).ToFloatArray();
        Assert.Equal(new[] { 3, 5, 29 }, output.Shape.ToArray());
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"y[{i}] = {actual[i]}, the int8 reference gives {expected[i]} (seed {seed})");
    }

    [Fact]
    public void CalibratedClassifierStaysCloseToTheFloatPlan()
    {
        int seed = TestData.NewSeed();
        var model = ReadmeClassifierData.WithRandomWeights(new Random(seed));
        // The evaluated batch is part of the calibration set, so no value of it lies beyond its tensor's threshold: the error is
        // the rounding to 8-bit codes alone. (Evaluated on unseen batches, a value past the calibrated maximum saturates, and that
        // clipping, not rounding, gave the worst of 1000 seeds 0.166, with the ×64 check below only 1.95× above it.)
        using var x = TestData.Uniform(seed + 9, -2, 2, 6, 7, 12).ToCpu();
        using (var calibration = new LinearInputCalibration(model))
        {
            for (int b = 0; b < 4; b++)
            {
                using var batch = TestData.Uniform(seed + 1 + b, -2, 2, 4, 7, 12).ToCpu();
                using var _ = model.Forward(batch);
            }
            using (model.Forward(x)) { }
            model.Int8Scales.Load(calibration.Thresholds(CalibrationMethod.Max));
        }
        Assert.Equal(["head.input", "mlp.fc1.input", "mlp.fc2.input"], model.Int8Scales.Names.Order(StringComparer.Ordinal));

        var reference = Values(model.Run(x, precision: Fusion.Precision.Float));
        double calibrated = RelativeL2(Values(model.Run(x, precision: Fusion.Precision.Int8)), reference);
        // 8-bit codes of every GEMM operand: over 1000 seeds the median was 0.012 and the worst 0.027; 0.05 is about twice that. A
        // wrong scale or dequantize gives errors of order 1.
        Assert.True(calibrated <= 0.05, $"int8 plan: relative L2 {calibrated:g3} against the float plan (seed {seed})");
        Assert.True(calibrated > 1e-5, $"int8 plan: relative L2 {calibrated:g3}: nothing was quantized? (seed {seed})");

        // Thresholds 64× too large leave most values a few codes wide: the error must grow (the scales are read, not ignored).
        // Over the same 1000 seeds it grew 31× at the least, 60× at the median.
        model.Int8Scales.Load(model.Int8Scales.Names.ToDictionary(n => n, n => 64.0 * 127 * model.Int8Scales.ScaleOf(n)));
        double coarse = RelativeL2(Values(model.Run(x, precision: Fusion.Precision.Int8)), reference);
        Assert.True(coarse > 10 * calibrated, $"thresholds ×64: relative L2 {coarse:g3}, calibrated {calibrated:g3} (seed {seed})");
    }

    [Fact]
    public void AnInt8RunWithoutScalesIsRefused()
    {
        var model = new Int8OneLinear();
        using var x = TestData.Random(1, 2, 5, 37).ToCpu();
        var e = Assert.Throws<FusionException>(() => model.Run(x, precision: Fusion.Precision.Int8));
        Assert.Contains("Int8OneLinear", e.Message);
        Assert.Contains("scale file", e.Message);
        Assert.Throws<FusionException>(() => new ModelSession(model, new SessionOptions(Precision: Fusion.Precision.Int8)));
    }

    [Fact]
    public void ScalesForAnotherModelOrMissingATensorAreRefused()
    {
        var model = new Int8OneLinear();
        var other = new ScaleFile("ReadmeClassifier", "00", CalibrationMethod.Max, 99.99, new Dictionary<string, double> { ["fc.input"] = 1 });
        Assert.Contains("'ReadmeClassifier', not 'Int8OneLinear'", Assert.Throws<FusionException>(() => model.Int8Scales.Load(other)).Message);
        var missing = new ScaleFile("Int8OneLinear", "00", CalibrationMethod.Max, 99.99, new Dictionary<string, double> { ["head.input"] = 1 });
        Assert.Contains("fc.input", Assert.Throws<FusionException>(() => new ModelSession(model, new SessionOptions(Precision: Fusion.Precision.Int8, Scales: missing))).Message);
        Assert.False(model.Int8Scales.IsLoaded);
        Assert.Throws<ArgumentException>(() => new ModelSession(model, new SessionOptions(Precision: Fusion.Precision.Half, Scales: missing)));

        var good = missing with { Thresholds = new Dictionary<string, double> { ["fc.input"] = 2.54 } };
        var session = new ModelSession(model, new SessionOptions(Precision: Fusion.Precision.Int8, Scales: good));
        Assert.True(model.Int8Scales.IsLoaded);
        Assert.Equal(0.02f, model.Int8Scales.ScaleOf("fc.input"), 6);
        using var x = TestData.Random(2, 1, 5, 37).ToCpu();
        using var y = session.Run(x);
        Assert.Equal(new[] { 1, 5, 29 }, y.Shape.ToArray());
    }

    private static float[] Values(Tensor t)
    {
        using (t) return ((CpuTensor)t).ToFloatArray();
    }

    private static double RelativeL2(float[] a, float[] b)
    {
        double diff = 0, norm = 0;
        for (int i = 0; i < a.Length; i++)
        {
            diff += (a[i] - (double)b[i]) * (a[i] - (double)b[i]);
            norm += (double)b[i] * b[i];
        }
        return Math.Sqrt(diff / norm);
    }
}
