using Fusion.Cuda.Generated;
using Fusion.Quantization;
using Fusion.Runtime.Tests;
using Fusion.Runtime.Tests.Quantization;
using Fusion.Testing;

namespace Fusion.Cuda.Tests;

/// <summary>
/// The compiled Int8 plan on the GPU against the same plan on the CPU (the int8 template with its generated epilogue, the
/// quantizing kernels' int8 stores and loads): a single Linear, whose integer part is exact on both, within a few float32 ulps
/// (the GPU may fuse the dequantize's multiply and the bias add into one FMA); and the calibrated README classifier, where a
/// value landing on the other side of a rounding boundary moves one int8 code, within 1e-3 relative L2. Fresh weights and
/// inputs each run, f32 and f16 inputs; each with the CUDA C kernels (NVRTC) and with their ILGPU versions (the int8 GEMM's too).
/// </summary>
public sealed class Int8PlanGpuTests : GpuTestBase
{
    [Theory]
    [InlineData(DType.Float32, KernelLanguage.Nvrtc)]
    [InlineData(DType.Float16, KernelLanguage.Nvrtc)]
    [InlineData(DType.Float32, KernelLanguage.Ilgpu)]
    [InlineData(DType.Float16, KernelLanguage.Ilgpu)]
    public void OneLinearMatchesTheCpuPlan(DType io, KernelLanguage language)
    {
        int seed = Rng.Next();
        var model = new Int8OneLinear();
        foreach (var p in model.NamedParameters()) p.Parameter.InitUniform(new Random(seed), 0.4f);
        model.Int8Scales.Load(new Dictionary<string, double> { ["fc.input"] = 2.5 });
        using var host = Fusion.Testing.TestData.Uniform(seed + 1, -3, 3, 7, 5, 37).ToCpu(io);
        using var cpu = (CpuTensor)model.Run(host, precision: Precision.Int8);
        using var backend = new CudaBackend(Device, new KernelCache(CacheDirectory));
        backend.Generated.Language = language;
        using var input = backend.FromHost(host);
        using var output = model.Run(input, backend, Precision.Int8);
        using var gpu = backend.ToHost(output);
        Assert.Equal(language == KernelLanguage.Ilgpu, backend.Gemms.LastRanIlgpu);
        // io f32: the epilogue's float32 result (a few ulps: an FMA may fuse the dequantize and the bias); f16: that rounded once.
        double rtol = io == DType.Float32 ? 1e-6 : 1e-3;
        Tolerance.AssertClose(gpu, RefTensor.FromCpu(cpu), 1e-6, rtol, $"int8 Linear, GPU against CPU plan, io {io.ShortName()} (seed {seed})");
    }

    [Theory]
    [InlineData(KernelLanguage.Nvrtc)]
    [InlineData(KernelLanguage.Ilgpu)]
    public void CalibratedClassifierMatchesTheCpuPlan(KernelLanguage language)
    {
        int seed = Rng.Next();
        var model = ReadmeClassifierData.WithRandomWeights(new Random(seed));
        using (var calibration = new LinearInputCalibration(model))
        {
            using var batch = Fusion.Testing.TestData.Uniform(seed + 1, -2, 2, 8, 7, 12).ToCpu();
            using (model.Forward(batch)) { }
            model.Int8Scales.Load(calibration.Thresholds(CalibrationMethod.Max));
        }
        using var host = Fusion.Testing.TestData.Uniform(seed + 2, -2, 2, 33, 7, 12).ToCpu();
        using var cpu = (CpuTensor)model.Run(host, precision: Precision.Int8);
        using var backend = new CudaBackend(Device, new KernelCache(CacheDirectory));
        backend.Generated.Language = language;
        using var input = backend.FromHost(host);
        using var output = model.Run(input, backend, Precision.Int8);
        using var gpu = backend.ToHost(output);
        Assert.Equal(language == KernelLanguage.Ilgpu, backend.Gemms.LastRanIlgpu);
        double error = Tolerance.RelativeL2(RefTensor.FromCpu(gpu), RefTensor.FromCpu(cpu));
        Assert.True(error <= 1e-3, $"README classifier int8 plan: GPU against CPU relative L2 {error:E2} (seed {seed})");
    }
}
