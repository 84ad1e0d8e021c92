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
        using var run = BothPlans(model, host, language);
        Assert.Equal(language == KernelLanguage.Ilgpu, run.RanIlgpu);
        // io f32: the epilogue's float32 result (a few ulps: an FMA may fuse the dequantize and the bias); f16: that rounded once.
        double rtol = io == DType.Float32 ? 1e-6 : 1e-3;
        Tolerance.AssertClose(run.Gpu, RefTensor.FromCpu(run.Cpu), 1e-6, rtol, $"int8 Linear, GPU against CPU plan, io {io.ShortName()} (seed {seed})");
    }

    /// <summary>
    /// A strided 3×3 convolution as an implicit int8 GEMM over its quantized channels-last image (the template reads 16 codes of one
    /// tap at a time, zeros in the padding): the integer part exact, the f32 dequantize and bias within ulps, rounded once to fp16 as on
    /// the CPU (so a value may round to the neighbouring half: 1e-3 relative).
    /// </summary>
    [Theory]
    [InlineData(DType.Float32, KernelLanguage.Nvrtc)]
    [InlineData(DType.Float16, KernelLanguage.Nvrtc)]
    [InlineData(DType.Float32, KernelLanguage.Ilgpu)]
    [InlineData(DType.Float16, KernelLanguage.Ilgpu)]
    public void OneConvolutionMatchesTheCpuPlan(DType io, KernelLanguage language)
    {
        int seed = Rng.Next();
        var model = new Int8OneConv();
        foreach (var p in model.NamedParameters()) p.Parameter.InitUniform(new Random(seed), 0.3f);
        model.Int8Scales.Load(new Dictionary<string, double> { ["conv.input"] = 1.6 });
        using var host = Fusion.Testing.TestData.Uniform(seed + 1, -2, 2, 3, 7, 9, 16).ToCpu(io);
        using var run = BothPlans(model, host, language);
        Assert.Equal(language == KernelLanguage.Ilgpu, run.RanIlgpu);
        Tolerance.AssertClose(run.Gpu, RefTensor.FromCpu(run.Cpu), 1e-6, 1e-3, $"int8 implicit convolution, GPU against CPU plan, io {io.ShortName()} (seed {seed})");
    }

    /// <summary>
    /// <see cref="Int8ConvNet"/> calibrated on the CPU, then its Int8 plan on the GPU (implicit int8 convolutions in whichever tile the
    /// backend's policy picks, gathered windows of codes, quantizes in the epilogues) against the same plan on the CPU, batch 3: a value
    /// on the other side of a rounding boundary moves one code, so within 1e-3 relative L2 as the classifier above.
    /// </summary>
    [Theory]
    [InlineData(KernelLanguage.Nvrtc)]
    [InlineData(KernelLanguage.Ilgpu)]
    public void CalibratedConvNetMatchesTheCpuPlan(KernelLanguage language)
    {
        int seed = Rng.Next();
        var model = new Int8ConvNet();
        ConvNetWeights.Initialize(model, seed);
        using (var calibration = new LinearInputCalibration(model))
        {
            using var batch = Fusion.Testing.TestData.Uniform(seed + 1, -2, 2, 4, 16, 9, 11).ToCpu();
            calibration.Run(batch);
            model.Int8Scales.Load(calibration.Thresholds(CalibrationMethod.Max));
        }
        using var host = Fusion.Testing.TestData.Uniform(seed + 2, -2, 2, 3, 16, 9, 11).ToCpu();
        using var run = BothPlans(model, host, language);
        double error = Tolerance.RelativeL2(RefTensor.FromCpu(run.Gpu), RefTensor.FromCpu(run.Cpu));
        Assert.True(error <= 1e-3, $"Int8ConvNet int8 plan ({language}): GPU against CPU relative L2 {error:E2} (seed {seed})");
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
        using var run = BothPlans(model, host, language);
        Assert.Equal(language == KernelLanguage.Ilgpu, run.RanIlgpu);
        double error = Tolerance.RelativeL2(RefTensor.FromCpu(run.Gpu), RefTensor.FromCpu(run.Cpu));
        Assert.True(error <= 1e-3, $"README classifier int8 plan: GPU against CPU relative L2 {error:E2} (seed {seed})");
    }

    /// <summary>
    /// <paramref name="model"/>'s Int8 plan on <paramref name="host"/> on the CPU and on the GPU with <paramref name="language"/>'s
    /// kernels, both results on the host, and whether the GPU's last GEMM ran its ILGPU version.
    /// </summary>
    private PlanResults BothPlans(IFusedModel model, CpuTensor host, KernelLanguage language)
    {
        var cpu = (CpuTensor)model.Run([host], null, Precision.Int8);
        using var backend = new CudaBackend(Device, new KernelCache(CacheDirectory));
        backend.Generated.Language = language;
        using var input = backend.FromHost(host);
        using var output = model.Run([input], backend, Precision.Int8);
        return new PlanResults(cpu, backend.ToHost(output), backend.Gemms.LastRanIlgpu);
    }

    private sealed record PlanResults(CpuTensor Cpu, CpuTensor Gpu, bool RanIlgpu) : IDisposable
    {
        public void Dispose()
        {
            Cpu.Dispose();
            Gpu.Dispose();
        }
    }
}
