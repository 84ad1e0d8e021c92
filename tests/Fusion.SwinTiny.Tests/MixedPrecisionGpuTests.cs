using Fusion;
using Fusion.IO;
using Fusion.Testing;
using SwinTiny;
using SwinTiny.Model;

namespace Fusion.SwinTiny.Tests;

/// <summary>
/// The precision plans on the GPU through <see cref="ModelSession"/>. Float on CUDA runs every fused operator as its
/// unfused f32 chain (cuBLASLt with f32 compute, backend_ops.cu): against the CPU's Float plan within 1e-4 absolute and
/// relative for the blocks (summation order; GELU's erf fit 1.2e-7; exp through ex2, 2 ulp) and 1e-3 for logits after
/// ~100 operators. Half on CUDA (generated fp16 kernels, fp32 accumulation): relative L2 ≤ 1e-2 against float64 or
/// timm's fp32 logits. Skips visibly without CUDA; FUSION_REQUIRE_CUDA=1 makes that a failure.
/// </summary>
public sealed class MixedPrecisionGpuTests
{
    private const double HalfBar = 1e-2;

    private static string Fixture(string file) => Path.Combine(AppContext.BaseDirectory, "fixtures", "swin-mini", file);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Stage1Blocks_FloatOnCuda_MatchesFloatOnCpu(int batch)
    {
        var device = CudaTestEnvironment.RequireDevice();
        using var backend = new CudaBackend(device);
        int seed = TestData.NewSeed();
        var model = new SwinStage1Blocks();
        RandomWeights.Initialize(model, seed);
        using var host = TestData.Random(seed + 1, batch, 56, 56, 96).ToCpu();
        using var cpu = new ModelSession(model).Run(host);
        using var gpu = RunOn(model, backend, new SessionOptions(backend, Precision.Float), host);
        Assert.Equal(DType.Float32, gpu.DType);
        Tolerance.AssertClose(gpu, RefTensor.FromCpu((CpuTensor)cpu), 1e-4, 1e-4, $"SwinStage1Blocks Float CUDA vs CPU, batch {batch} (seed {seed})");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Stage1Blocks_HalfOnCuda_WithinTheBar_OfFloat64(bool halfInputOutput)
    {
        var device = CudaTestEnvironment.RequireDevice();
        using var backend = new CudaBackend(device);
        int seed = TestData.NewSeed();
        var model = new SwinStage1Blocks();
        RandomWeights.Initialize(model, seed);
        var io = halfInputOutput ? DType.Float16 : DType.Float32;
        var x = TestData.Random(seed + 1, io, 2, 56, 56, 96);
        using var host = x.ToCpu(io);
        using var output = RunOn(model, backend, new SessionOptions(backend, Precision.Half, halfInputOutput), host);
        Assert.Equal(io, output.DType);
        var expected = SwinReference.TwoBlocks(model, x, 96, 3, 56);
        double error = Tolerance.RelativeL2(output, expected);
        Assert.True(error <= HalfBar, $"SwinStage1Blocks Half on CUDA, {io.ShortName()} IO: relative L2 {error:E2} > {HalfBar} (seed {seed})");
    }

    [Fact]
    public void SwinMini_BothPlansOnCuda()
    {
        var device = CudaTestEnvironment.RequireDevice();
        using var backend = new CudaBackend(device);
        var model = new SwinMini();
        model.LoadWeights(Fixture("weights.safetensors"));
        using var image = NpyFile.Read(Fixture("input.npy"));
        using var expected = NpyFile.Read(Fixture("logits.npy"));

        using var half = RunOn(model, backend, new SessionOptions(backend, Precision.Half), image);
        double error = Tolerance.RelativeL2(half, RefTensor.FromCpu(expected));
        Assert.True(error <= HalfBar, $"SwinMini Half on CUDA vs timm: relative L2 {error:E2} > {HalfBar}");

        int seed = TestData.NewSeed();
        using var random = TestData.Random(seed, 2, 3, 224, 224).ToCpu();
        using var cpu = new ModelSession(model).Run(random);
        using var gpu = RunOn(model, backend, new SessionOptions(backend, Precision.Float), random);
        Tolerance.AssertClose(gpu, RefTensor.FromCpu((CpuTensor)cpu), 1e-3, 1e-3, $"SwinMini Float CUDA vs CPU (seed {seed})");
    }

    [Fact]
    public void SwinMini_KeptHead_HalfOnCuda_MatchesTimm()
    {
        // The image's cast runs inside Patchify (f32 → f16 gather), the pool writes f32 (mixed Mean), the head is an f32 chain.
        var device = CudaTestEnvironment.RequireDevice();
        using var backend = new CudaBackend(device);
        var model = new SwinMiniKeepHead();
        model.LoadWeights(Fixture("weights.safetensors"));
        using var image = NpyFile.Read(Fixture("input.npy"));
        using var expected = NpyFile.Read(Fixture("logits.npy"));
        using var logits = RunOn(model, backend, new SessionOptions(backend, Precision.Half), image);
        Assert.Equal(DType.Float32, logits.DType);
        double error = Tolerance.RelativeL2(logits, RefTensor.FromCpu(expected));
        Assert.True(error <= HalfBar, $"SwinMiniKeepHead Half on CUDA vs timm: relative L2 {error:E2} > {HalfBar}");
    }

    [Fact]
    public void KeptOperator_RunsInFloat32_OnCuda()
    {
        var device = CudaTestEnvironment.RequireDevice();
        using var backend = new CudaBackend(device);
        int seed = TestData.NewSeed();
        var model = new KeptOffset();
        var offset = TestData.Uniform(seed + 1, 1e-4, 3e-4, 16).Data.Select(v => (float)v).ToArray();
        model.offset.Load(offset);
        var x = TestData.Uniform(seed, 1, 1.9, 5, 16);
        using var host = x.ToCpu();
        using var output = RunOn(model, backend, new SessionOptions(backend, Precision.Half), host);
        var expected = new float[x.Count];
        for (int i = 0; i < expected.Length; i++) expected[i] = (float)x.Data[i] + offset[i % 16]; // one IEEE f32 add
        Assert.Equal(expected, output.ToFloatArray());
    }

    /// <summary>Copies <paramref name="host"/> to the device, runs <paramref name="model"/> in a session there and returns the result on the host.</summary>
    private static CpuTensor RunOn(IFusedModel model, CudaBackend backend, SessionOptions options, CpuTensor host)
    {
        using var input = backend.FromHost(host);
        using var output = new ModelSession(model, options).Run(input);
        return backend.ToHost(output);
    }
}
