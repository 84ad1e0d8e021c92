using Fusion;
using Fusion.Testing;
using SwinTiny;
using SwinTiny.Model;

namespace Fusion.SwinTiny.Tests;

/// <summary>
/// The generated, fused Swin blocks on the GPU in fp16 (generated kernels and cuBLASLt chosen by
/// fast-run), against the float64 reference and against the unfused fp16 path (eager Forward on the CPU).
/// Skips visibly without CUDA; FUSION_REQUIRE_CUDA=1 makes that a failure.
/// </summary>
public sealed class SwinBlockGpuTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Stage1Blocks_Fp16OnGpu_MatchFloat64Reference(int batch)
    {
        var device = CudaTestEnvironment.RequireDevice();
        using var backend = new CudaBackend(device);
        var model = new SwinStage1Blocks();
        CheckAgainstReferences(model, model.Forward, backend, batch, 56, 96, 3, "SwinStage1Blocks");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(64)]
    public void OddBlocks_Fp16OnGpu_MatchFloat64Reference(int batch)
    {
        var device = CudaTestEnvironment.RequireDevice();
        using var backend = new CudaBackend(device);
        var model = new OddSwinBlocks();
        CheckAgainstReferences(model, model.Forward, backend, batch, 14, 30, 5, "OddSwinBlocks");
    }

    [Fact]
    public void RepeatedRuns_GiveIdenticalResults_AndFreeTheirMemory()
    {
        var device = CudaTestEnvironment.RequireDevice();
        using var blocks = new OddBlocksOnGpu(device);
        using (blocks.Model.Run(blocks.Input, blocks.Backend)) { } // kernels, fast-run choices, constants
        int live = device.Allocator.LiveAllocations;
        var first = blocks.RunOnce();
        Assert.Equal(live, device.Allocator.LiveAllocations); // every intermediate and the output went back
        Assert.Equal(first, blocks.RunOnce());
    }

    [Fact]
    public void GraphReplay_EqualsDirectRuns_ForNewInputs_AndReleasesItsMemory()
    {
        var device = CudaTestEnvironment.RequireDevice();
        using var backend = new CudaBackend(device);
        var model = new OddSwinBlocks();
        RandomWeights.Initialize(model, TestData.NewSeed());
        using var firstHost = TestData.Random(TestData.NewSeed(), DType.Float16, 3, 14, 14, 30).ToCpu(DType.Float16);
        using var secondHost = TestData.Random(TestData.NewSeed(), DType.Float16, 3, 14, 14, 30).ToCpu(DType.Float16);
        using var first = backend.FromHost(firstHost);
        using var second = backend.FromHost(secondHost);

        float[] Direct(Tensor input)
        {
            using var output = model.Run(input, backend);
            using var back = backend.ToHost(output);
            return back.ToFloatArray();
        }
        var expectedFirst = Direct(first);
        var expectedSecond = Direct(second);
        int live = device.Allocator.LiveAllocations;

        using (var graphed = GraphedModel.Capture(model, backend, first))
        {
            // Same kernels, same order: replays are bit-identical to direct runs, for any input of the captured shape.
            using (var a = backend.ToHost(graphed.Run(second))) Assert.Equal(expectedSecond, a.ToFloatArray());
            using (var b = backend.ToHost(graphed.Run(first))) Assert.Equal(expectedFirst, b.ToFloatArray());
            using var wrongHost = CpuTensor.Zeros(DType.Float16, 2, 14, 14, 30);
            using var wrong = backend.FromHost(wrongHost);
            Assert.Throws<TensorMismatchException>(() => { graphed.Run(wrong); });
        }
        Assert.Equal(live, device.Allocator.LiveAllocations);
        Assert.Equal(expectedFirst, Direct(first)); // the pool went back to the shared cache and still works
    }

    /// <summary>
    /// fp16 on the GPU: relative L2 error against float64 ≤ 1e-2, and no more than twice the error of
    /// the unfused fp16 path (the eager Forward on the CPU backend, which rounds every intermediate to fp16).
    /// </summary>
    private static void CheckAgainstReferences(IFusedModel model, Func<Tensor, Tensor> eagerForward, CudaBackend backend, int batch, int resolution, int dim, int heads, string what)
    {
        int seed = TestData.NewSeed();
        RandomWeights.Initialize(model, seed);
        var x = TestData.Random(seed + 1, DType.Float16, batch, resolution, resolution, dim);

        using var host = x.ToCpu(DType.Float16);
        using var input = backend.FromHost(host);
        using var output = model.Run([input], backend);
        using var result = backend.ToHost(output);
        Assert.Equal(DType.Float16, result.DType);

        var expected = SwinReference.TwoBlocks(model, x, dim, heads, resolution);
        double gpuError = Tolerance.RelativeL2(result, expected);

        using var unfused = eagerForward(host); // eager, unfused, fp16 on the CPU
        double unfusedError = Tolerance.RelativeL2(unfused, expected);

        Assert.True(gpuError <= 1e-2, $"{what} batch {batch}: GPU fp16 relative L2 {gpuError:E2} > 1e-2 (seed {seed})");
        Assert.True(gpuError <= 2 * unfusedError, $"{what} batch {batch}: GPU fp16 error {gpuError:E2} is more than twice the unfused fp16 path's {unfusedError:E2} (seed {seed})");
    }
}
