using Fusion.Quantization;
using Fusion.Testing;

namespace Fusion.Runtime.Tests.Quantization;

/// <summary>
/// The compiled Fp8 plan on the CPU backend (the plan CI runs): each eligible Linear a product of FP8 E4M3 codes with per-tensor
/// scales, its quantize fused into the producer and the dequantize, bias, activation and the next quantize in the GEMM's epilogue
/// (cuBLASLt's on the GPU). A one-Linear model agrees with the FP8 Linear reference (<see cref="Fp8Linear"/>: the same codes, the
/// exact sum in float64) to float32 accumulation; a calibrated MLP stays within 8% relative L2 of the float plan and moves away
/// from it when its scales are wrong; the generated GEMMs of the MLP carry cuBLASLt epilogues for the chains the plan builds.
/// </summary>
public sealed class Fp8PlanTests
{
    [Fact]
    public void OneLinearAgreesWithTheFp8LinearReference()
    {
        int seed = TestData.NewSeed();
        var model = new Fp8OneLinear();
        foreach (var p in model.NamedParameters()) p.Parameter.InitUniform(new Random(seed), 0.4f);
        var x = TestData.Uniform(seed + 1, -3, 3, 3, 5, 48);
        float[] xs = x.Data.Select(v => (float)v).ToArray();
        // A threshold below the largest |x|, so some values saturate at ±448.
        double threshold = 0.8 * xs.Max(Math.Abs);
        model.Int8Scales.Load(new Dictionary<string, double> { ["fc.input"] = threshold });

        using var input = x.ToCpu();
        using var output = model.Run(input, precision: Fusion.Precision.Fp8);
        var actual = ((CpuTensor)output).ToFloatArray();
        Assert.Equal(new[] { 3, 5, 40 }, output.Shape.ToArray());

        // The plan's input scale is the scale file's (threshold / 127) times 127/448 in float32, as its constant kernel computes it;
        // its bias is f16 (cuBLASLt's FP8 epilogue type).
        float inputScale = Int8Quantizer.ScaleFor(threshold) * (float)(127.0 / 448.0);
        var weight = Fp8Weight.From(model.fc.weight.Value.Span<float>(), 40, 48);
        var bias = model.fc.bias!.Value.Span<float>().ToArray().Select(b => (float)(Half)b).ToArray();
        var expected = new double[15 * 40];
        Fp8Linear.Run(xs, 15, inputScale, weight, bias, expected);
        // Float32 sums of exact products: within a few ulps of the sum of magnitudes (48 terms), scaled.
        var codes = new byte[xs.Length];
        Float8E4M3.Quantize(xs, 1 / inputScale, codes);
        for (int i = 0; i < 15; i++)
        {
            for (int j = 0; j < 40; j++)
            {
                double magnitude = 0;
                for (int p = 0; p < 48; p++) magnitude += Math.Abs((double)Float8E4M3.Decode(codes[i * 48 + p]) * Float8E4M3.Decode(weight.Codes[j * 48 + p]));
                double bound = 1e-5 * magnitude * inputScale * weight.Scale + 1e-6 * Math.Abs(expected[i * 40 + j]);
                Assert.True(Math.Abs(actual[i * 40 + j] - expected[i * 40 + j]) <= bound,
                    $"y[{i}, {j}] = {actual[i * 40 + j]}, the FP8 reference gives {expected[i * 40 + j]} (bound {bound:g3}, seed {seed})");
            }
        }
    }

    [Fact]
    public void CalibratedMlpStaysCloseToTheFloatPlan()
    {
        int seed = TestData.NewSeed();
        var model = new Fp8Mlp();
        var random = new Random(seed);
        foreach (var p in model.NamedParameters()) p.Parameter.InitUniform(random, 0.3f);
        using (var calibration = new LinearInputCalibration(model))
        {
            for (int b = 0; b < 3; b++)
            {
                using var batch = TestData.Uniform(seed + 1 + b, -2, 2, 4, 7, 48).ToCpu();
                calibration.Run(batch);
            }
            model.Int8Scales.Load(calibration.Thresholds(CalibrationMethod.Max));
        }
        using var x = TestData.Uniform(seed + 9, -2, 2, 6, 7, 48).ToCpu();
        var reference = Values(model.Run(x, precision: Fusion.Precision.Float));
        double calibrated = RelativeL2(Values(model.Run(x, precision: Fusion.Precision.Fp8)), reference);
        TestContext.Current.SendDiagnosticMessage($"MLP fp8 plan against the float plan: relative L2 {calibrated:g3} (seed {seed})");
        // E4M3 keeps 3 mantissa bits: about 2% relative error per quantized operand, three GEMMs deep.
        Assert.True(calibrated <= 0.08, $"fp8 plan: relative L2 {calibrated:g3} against the float plan (seed {seed})");
        Assert.True(calibrated > 1e-4, $"fp8 plan: relative L2 {calibrated:g3}: nothing was quantized? (seed {seed})");

        // Thresholds 64× too small saturate most inputs at ±448: the error must grow (the scales are read, not ignored).
        model.Int8Scales.Load(model.Int8Scales.Names.ToDictionary(n => n, n => 127.0 * model.Int8Scales.ScaleOf(n) / 64));
        double clipped = RelativeL2(Values(model.Run(x, precision: Fusion.Precision.Fp8)), reference);
        Assert.True(clipped > 4 * calibrated, $"thresholds /64: relative L2 {clipped:g3}, calibrated {calibrated:g3} (seed {seed})");
    }

    /// <summary>The plan's GEMMs as the generator built them: every Linear FP8, each chain in cuBLASLt's epilogue.</summary>
    [Fact]
    public void MlpGemmsRunAsCublasFp8Epilogues()
    {
        var gemms = Fp8Mlp.Kernels.OfType<GemmKernel>().Where(g => g.Fp8).ToList();
        Assert.Equal(3, gemms.Count);
        Assert.All(gemms, g => Assert.True(g.CudaSource.Length == 0 && g.IlgpuKernels is null, $"{g.Name} has a template form"));
        // fc1: scale, bias, GELU (in its tanh form, which quantized plans compute and cuBLASLt's GELU epilogue is), and fc2's
        // quantize as the E4M3 output's scale.
        Assert.Contains(gemms, g => g.N == 96 && g.Cublas is { Activation: Activation.GeluTanh, Bias: >= 0, Scale: >= 0, OutScale: >= 0, Residual: -1 });
        // fc2: scale, bias, the residual add as C, and the head's quantize (the sum's only reader) as the E4M3 output's scale.
        Assert.Contains(gemms, g => g.N == 48 && g.Cublas is { Activation: Activation.None, Bias: >= 0, Scale: >= 0, Residual: >= 0, OutScale: >= 0 });
        // head: its output is cast to the run's type, which cuBLASLt cannot: the float32 product and the epilogue kernel.
        Assert.Contains(gemms, g => g.N == 16 && g.Cublas is null);
    }

    /// <summary>An FP8 GEMM kernel states cuBLASLt's conditions by name: K a multiple of 16, N of 8, no template, a dequantize factor.</summary>
    [Fact]
    public void AnFp8GemmKernelOutsideCublasConditionsIsRefused()
    {
        var epilogue = Fp8Mlp.Kernels.OfType<GemmKernel>().First(g => g.Fp8).Epilogue;
        Assert.Contains("K a multiple of 16", Assert.Throws<FusionException>(() => new GemmKernel("odd_k", 48, 40, 40, "", epilogue, null, fp8: true)).Message);
        Assert.Contains("N of 8", Assert.Throws<FusionException>(() => new GemmKernel("odd_n", 44, 48, 48, "", epilogue, null, fp8: true)).Message);
        Assert.Contains("no template source", Assert.Throws<FusionException>(() => new GemmKernel("templated", 48, 48, 48, "// source", epilogue, null, fp8: true)).Message);
        Assert.Contains("dequantize factor", Assert.Throws<FusionException>(() =>
            new GemmKernel("unscaled", 48, 48, 48, "", epilogue, new CublasEpilogue(Activation.None, 0, -1), fp8: true)).Message);
        Assert.Contains("only an FP8 product", Assert.Throws<FusionException>(() =>
            new GemmKernel("scaled_fp16", 48, 48, 48, "", epilogue, new CublasEpilogue(Activation.None, 0, -1) { Scale = 1 })).Message);
    }

    [Fact]
    public void AnFp8RunWithoutScalesIsRefused()
    {
        var model = new Fp8OneLinear();
        using var x = TestData.Random(1, 2, 5, 48).ToCpu();
        var e = Assert.Throws<FusionException>(() => model.Run(x, precision: Fusion.Precision.Fp8));
        Assert.Contains("Fp8OneLinear", e.Message);
        Assert.Contains("scale file", e.Message);
        Assert.Throws<FusionException>(() => new ModelSession(model, new SessionOptions(Precision: Fusion.Precision.Fp8)));
    }

    private static RefTensor Values(Tensor t)
    {
        using (t) return RefTensor.FromCpu((CpuTensor)t);
    }

    private static double RelativeL2(RefTensor actual, RefTensor expected) => Tolerance.RelativeL2(actual, expected);
}
