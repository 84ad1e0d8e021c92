using Fusion.Cuda.Gemm;
using Fusion.Runtime.Tests;
using Fusion.Testing;
using Inputs = Fusion.Testing.TestData;

namespace Fusion.Cuda.Tests;

/// <summary>
/// The convolution test models compiled and run on the GPU against the same plans on the CPU, batches 1 and 3.
/// <see cref="SmallConvNet"/> has every convolution-family operator (im2col GEMMs with folded batch norm and their epilogues, the
/// depthwise and dilated grouped reductions, max and average pooling, the channels-first LayerNorm read in place, global pooling);
/// <see cref="ImplicitConvNet"/> has implicit-GEMM convolutions (3×3, strided, dilated, a 1×1 stride-2 shortcut, residual adds in the
/// epilogue), run both ways: the template reading the image, and the gather kernel then cuBLASLt. Float plan: the same float32
/// arithmetic in another order, within 1e-4 + 1e-4·|b|. Half plan: both round every stored value to fp16, but not always at the same
/// points (cuBLASLt's epilogue vs the CPU's), a few fp16 ulps through six layers: within 1e-2 + 1e-2·|b|.
/// </summary>
public sealed class CompiledConvNetGpuTests : GpuTestBase
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void EveryConvolutionOperatorOnCudaMatchesTheCpu(int batch)
    {
        using var cuda = new CudaBackend(Device);
        int seed = Inputs.NewSeed();
        var model = new SmallConvNet();
        ConvNetWeights.Initialize(model, seed);
        using var host = Inputs.Random(seed + 1, batch, 3, 17, 15).ToCpu();
        PlanParity.CudaMatchesCpu(model, cuda, host, $"conv net, batch {batch} (seed {seed})", (Precision.Half, 1e-2, 1e-2),
            (Precision.Float, 1e-4, 1e-4));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void ImplicitGemmConvolutionsOnTheTemplateMatchTheCpu(int batch) => ImplicitGemmConvolutionsMatchTheCpu(batch, GemmPolicy.Generated);

    /// <summary>
    /// The same through cuBLASLt (the gather kernel, the product, the epilogue kernel where cuBLASLt has no epilogue for the chain)
    /// and through fast-run's choice. Apart from the template's theory because initcheck cannot see what cuBLASLt's Hopper kernels
    /// write (docs/reliability.md): scripts/sanitize.sh leaves the tests that run cuBLASLt out of its initcheck runs.
    /// </summary>
    [Theory]
    [InlineData(GemmPolicy.CublasLt)]
    [InlineData(GemmPolicy.FastRun)]
    public void ImplicitGemmConvolutionsThroughCublasLtMatchTheCpu(GemmPolicy policy) => ImplicitGemmConvolutionsMatchTheCpu(3, policy);

    /// <summary>
    /// The global pool summed in the last convolution's epilogue (accumulating stores into a float32 buffer the launch clears first):
    /// replayed from a CUDA graph, each replay starts from zero again (the clearing memset is captured with the kernel), so three
    /// replays give the direct run's result, not two or three times it. The adds land in any order: within 1e-3 + 1e-3·|b|.
    /// </summary>
    [Theory]
    [InlineData(GemmPolicy.Generated)]
    [InlineData(GemmPolicy.CublasLt)]
    public void APooledEpilogueReplayedFromACudaGraphStartsFromZero(GemmPolicy policy)
    {
        using var cuda = new CudaBackend(Device, new KernelCache(CacheDirectory), policy);
        int seed = Inputs.NewSeed();
        var model = new ImplicitConvNet();
        ConvNetWeights.Initialize(model, seed);
        using var host = Inputs.Random(seed + 1, 3, 16, 9, 11).ToCpu(DType.Float16);
        using var input = cuda.FromHost(host);
        using var direct = model.Run(input, cuda); // an f16 input runs the Half plan
        using var expected = cuda.ToHost(direct);
        using var graphed = GraphedModel.Capture(model, cuda, input);
        for (int replay = 0; replay < 3; replay++)
        {
            using var again = cuda.ToHost(graphed.Run(input));
            Tolerance.AssertClose(again, RefTensor.FromCpu(expected), 1e-3, 1e-3, $"replay {replay} of the pooled conv net, {policy} (seed {seed})");
        }
    }

    private void ImplicitGemmConvolutionsMatchTheCpu(int batch, GemmPolicy policy)
    {
        using var cuda = new CudaBackend(Device, new KernelCache(CacheDirectory), policy);
        int seed = Inputs.NewSeed();
        var model = new ImplicitConvNet();
        ConvNetWeights.Initialize(model, seed);
        using var host = Inputs.Random(seed + 1, batch, 16, 9, 11).ToCpu();
        PlanParity.CudaMatchesCpu(model, cuda, host, $"implicit-GEMM conv net, {policy}, batch {batch} (seed {seed})", (Precision.Half, 1e-2, 1e-2),
            (Precision.Float, 1e-4, 1e-4));
    }

    /// <summary>
    /// The implicit-GEMM convolutions (3×3, strided, dilated, the 1×1 shortcut, residual epilogues) and the head in each wide, Hopper and split-K tile:
    /// fast-run's decisions for the Half plan are rewritten to the template in that tile, and the cached policy then runs them
    /// against the CPU. The layers are narrower than the tile (N ≤ 40), so every store is an edge case; the kernel cache then holds
    /// that tile's modules (fast-run itself only tries wide tiles no wider than N). Its fast-run pass runs cuBLASLt too, so
    /// scripts/sanitize.sh leaves it out of initcheck as well.
    /// </summary>
    [Theory]
    [InlineData("128x128", 1)]
    [InlineData("256x128", 3)]
    [InlineData("128x256", 3)]
    [InlineData("256x64", 3)]
    [InlineData("128x256h", 3)]
    [InlineData("128x128h", 1)]
    [InlineData("128x64h", 3)]
    [InlineData("128x256t", 3)] // the 1 × 1 stride-1 convolutions and the head through tensor maps; the others run the default tile
    [InlineData("128x128t", 1)]
    [InlineData("128x64t", 3)]
    [InlineData("128x128p", 3)]
    [InlineData("32x32k2", 1)] // split K over clusters of 2 and 4 blocks: the convolutions with at least that many k-steps; the others run the default tile
    [InlineData("64x32k4", 3)]
    public void ImplicitGemmConvolutionsInAWideTileMatchTheCpu(string tileText, int batch)
    {
        var tile = GemmTile.TryParse(tileText)!.Value;
        var folder = Directory.CreateTempSubdirectory("fusion-wide-tiles-").FullName;
        int seed = Inputs.NewSeed();
        var model = new ImplicitConvNet();
        ConvNetWeights.Initialize(model, seed);
        using var host = Inputs.Random(seed + 1, batch, 16, 9, 11).ToCpu();
        using (var fast = new CudaBackend(Device, new KernelCache(folder), GemmPolicy.FastRun))
        {
            using var input = fast.FromHost(host);
            using var output = new ModelSession(model, new SessionOptions(fast, Precision.Half)).Run(input);
        }
        var choices = Directory.GetFiles(folder, "gemm-choice-*.txt");
        Assert.NotEmpty(choices);
        foreach (var file in choices)
        {
            var lines = File.ReadAllLines(file);
            lines[2] = "path generated";
            lines[3] = $"tile {tile}";
            File.WriteAllLines(file, lines);
        }
        using (var cached = new CudaBackend(Device, new KernelCache(folder), GemmPolicy.Cached))
            PlanParity.CudaMatchesCpu(model, cached, host, $"implicit-GEMM conv net in tile {tile}, batch {batch} (seed {seed})", (Precision.Half, 1e-2, 1e-2));
        Assert.Contains(Directory.GetFiles(folder, "*.cubin"), f => Path.GetFileName(f).Contains($"_t{tile}", StringComparison.Ordinal));
        Directory.Delete(folder, recursive: true);
    }
}
