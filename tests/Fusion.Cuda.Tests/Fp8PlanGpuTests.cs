using Fusion.Cuda.Generated;
using Fusion.Quantization;
using Fusion.Runtime.Tests.Quantization;
using Fusion.Testing;

namespace Fusion.Cuda.Tests;

/// <summary>
/// The compiled Fp8 plan on the GPU (cuBLASLt's FP8 products with the plan's scales, bias, GELU, residual and E4M3 outputs in its
/// epilogue; the quantizing kernels' E4M3 stores) against the same plan on the CPU. One Linear: the same codes on both, the
/// GPU's sums with about 14 mantissa bits (Hopper's FP8 accumulation), so within 2⁻¹⁰ of the largest output (plus f16 rounding). The calibrated MLP: cuBLASLt's GELU is the tanh
/// form (within 5e-4 of the erf form the CPU computes), which moves an occasional fc1 output to the neighbouring E4M3 code, so
/// within 2e-2 relative L2. Fresh weights and inputs each run; the plan's generated kernels (the E4M3 quantizes) as CUDA C and as
/// their ILGPU versions.
/// </summary>
public sealed class Fp8PlanGpuTests : GpuTestBase
{
    [Theory]
    [InlineData(DType.Float32, KernelLanguage.Nvrtc)]
    [InlineData(DType.Float16, KernelLanguage.Nvrtc)]
    [InlineData(DType.Float32, KernelLanguage.Ilgpu)]
    [InlineData(DType.Float16, KernelLanguage.Ilgpu)]
    public void OneLinearMatchesTheCpuPlan(DType io, KernelLanguage language)
    {
        RequireFp8();
        int seed = Rng.Next();
        var model = new Fp8OneLinear();
        foreach (var p in model.NamedParameters()) p.Parameter.InitUniform(new Random(seed), 0.4f);
        model.Int8Scales.Load(new Dictionary<string, double> { ["fc.input"] = 2.5 });
        using var host = Fusion.Testing.TestData.Uniform(seed + 1, -3, 3, 7, 5, 48).ToCpu(io);
        using var cpu = (CpuTensor)model.Run(host, precision: Precision.Fp8);
        using var backend = new CudaBackend(Device, new KernelCache(CacheDirectory));
        backend.Generated.Language = language;
        using var input = backend.FromHost(host);
        using var output = model.Run(input, backend, Precision.Fp8);
        using var gpu = backend.ToHost(output);
        // Hopper's FP8 tensor cores add products with about 14 mantissa bits: measured 1.2e-3 off at -6.47 (largest output about 8),
        // so the bound is 2⁻¹⁰ of the largest output, plus f16 rounding for f16 outputs; one code off, or a wrong scale, is far more.
        var expected = RefTensor.FromCpu(cpu);
        double largest = expected.Data.Max(Math.Abs);
        Tolerance.AssertClose(gpu, expected, largest / 1024, io == DType.Float32 ? 1e-6 : 1e-3, $"FP8 Linear, GPU against CPU plan, io {io.ShortName()} (seed {seed})");
    }

    [Theory]
    [InlineData(KernelLanguage.Nvrtc)]
    [InlineData(KernelLanguage.Ilgpu)]
    public void CalibratedMlpMatchesTheCpuPlan(KernelLanguage language)
    {
        RequireFp8();
        int seed = Rng.Next();
        var model = new Fp8Mlp();
        var random = new Random(seed);
        foreach (var p in model.NamedParameters()) p.Parameter.InitUniform(random, 0.3f);
        using (var calibration = new LinearInputCalibration(model))
        {
            using var batch = Fusion.Testing.TestData.Uniform(seed + 1, -2, 2, 8, 7, 48).ToCpu();
            calibration.Run(batch);
            model.Int8Scales.Load(calibration.Thresholds(CalibrationMethod.Max));
        }
        using var host = Fusion.Testing.TestData.Uniform(seed + 2, -2, 2, 33, 7, 48).ToCpu();
        using var cpu = (CpuTensor)model.Run(host, precision: Precision.Fp8);
        using var backend = new CudaBackend(Device, new KernelCache(CacheDirectory));
        backend.Generated.Language = language;
        using var input = backend.FromHost(host);
        using var output = model.Run(input, backend, Precision.Fp8);
        using var gpu = backend.ToHost(output);
        double error = Tolerance.RelativeL2(RefTensor.FromCpu(gpu), RefTensor.FromCpu(cpu));
        Assert.True(error <= 2e-2, $"MLP fp8 plan: GPU against CPU relative L2 {error:E2} (seed {seed})");
    }

    /// <summary>Below sm_89 the plan is refused by name (the H200 is sm_90, so this only documents the rule there).</summary>
    private void RequireFp8()
    {
        if (Device.ComputeCapability < 89)
            VisibleSkip.Because("no FP8 tensor cores", $"{Device.Name} is {Device.Architecture}", "run on sm_89 or newer (Ada, Hopper)");
    }
}
