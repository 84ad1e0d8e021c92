using Fusion;
using Fusion.Quantization;
using Fusion.Testing;

namespace Fusion.ConvNets.Tests;

/// <summary>
/// The samples' networks in their Int8 plans on the CPU (the plan CI runs): each one-group convolution and Linear an int8 GEMM, the
/// convolutions over their quantized images (implicit int8 GEMMs where a bottleneck's 3×3 runs over 16 or 32 channels, gathered windows
/// of codes elsewhere), depthwise convolutions fp16. Calibrated through the eager Forward on three batches (max method), then compared
/// with the Float plan on a batch of its own.
/// </summary>
public sealed class Int8PlanTests
{
    [Fact]
    public void ResNetMini_Int8PlanStaysCloseToTheFloatPlan()
    {
        var implicitGemms = ResNetMini.Kernels.OfType<GemmKernel>().Where(g => g.Int8 && g.Conv is not null).Select(g => g.Conv!.Channels).Distinct().Order().ToList();
        Assert.Equal([16, 32, 64, 96], implicitGemms); // 3×3 over 16 and 32 channels; 1×1 stride-2 shortcuts over 32, 64 and 96
        int seed = TestData.NewSeed();
        var model = new ResNetMini();
        ResNetSample.RandomWeights.Initialize(model, seed);
        double error = Int8AgainstFloat(model, seed, ResNetMini.ImageSize);
        Assert.True(error <= ResNetBound, $"ResNetMini int8 plan: relative L2 {error:g3} against the float plan (seed {seed})");
        Assert.True(error > 1e-5, $"ResNetMini int8 plan: relative L2 {error:g3}: nothing was quantized? (seed {seed})");
    }

    [Fact]
    public void ConvNeXtMini_Int8PlanStaysCloseToTheFloatPlan()
    {
        Assert.Contains(ConvNeXtMini.Kernels.OfType<GemmKernel>(), g => g.Int8);
        int seed = TestData.NewSeed();
        var model = new ConvNeXtMini();
        ConvNeXtSample.RandomWeights.Initialize(model, seed);
        double error = Int8AgainstFloat(model, seed, ConvNeXtMini.ImageSize);
        Assert.True(error <= ConvNeXtBound, $"ConvNeXtMini int8 plan: relative L2 {error:g3} against the float plan (seed {seed})");
        Assert.True(error > 1e-5, $"ConvNeXtMini int8 plan: relative L2 {error:g3}: nothing was quantized? (seed {seed})");
    }

    /// <summary>
    /// Over 60 seeds (2026-12-05) the relative L2 had median 0.020 and maximum 0.060 for ResNetMini, median 0.024 and maximum 0.066 for
    /// ConvNeXtMini (random weights carried through 20-odd quantized layers); the bounds are about twice the worst. A wrong scale, code
    /// or dequantize gives errors of order 1.
    /// </summary>
    private const double ResNetBound = 0.12, ConvNeXtBound = 0.13;

    /// <summary>Calibrates <paramref name="model"/> on three batches of two images, then the relative L2 of its Int8 plan against its Float plan on a batch of three.</summary>
    private static double Int8AgainstFloat(IFusedModel model, int seed, int size)
    {
        using (var calibration = new LinearInputCalibration(model))
        {
            for (int b = 0; b < 3; b++)
            {
                using var batch = TestImages.Random(seed + 10 + b, 2, size).ToCpu();
                calibration.Run(batch);
            }
            model.Int8Scales!.Load(calibration.Thresholds(CalibrationMethod.Max));
        }
        using var x = TestImages.Random(seed + 20, 3, size).ToCpu();
        using var reference = (CpuTensor)model.Run([x], null, Precision.Float);
        using var quantized = (CpuTensor)model.Run([x], null, Precision.Int8);
        return Tolerance.RelativeL2(RefTensor.FromCpu(quantized), RefTensor.FromCpu(reference));
    }
}
