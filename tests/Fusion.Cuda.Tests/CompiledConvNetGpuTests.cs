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
    [InlineData(1, GemmPolicy.Generated)]
    [InlineData(3, GemmPolicy.Generated)]
    [InlineData(3, GemmPolicy.CublasLt)]
    [InlineData(3, GemmPolicy.FastRun)]
    public void ImplicitGemmConvolutionsOnCudaMatchTheCpu(int batch, GemmPolicy policy)
    {
        using var cuda = new CudaBackend(Device, new KernelCache(CacheDirectory), policy);
        int seed = Inputs.NewSeed();
        var model = new ImplicitConvNet();
        ConvNetWeights.Initialize(model, seed);
        using var host = Inputs.Random(seed + 1, batch, 16, 9, 11).ToCpu();
        PlanParity.CudaMatchesCpu(model, cuda, host, $"implicit-GEMM conv net, {policy}, batch {batch} (seed {seed})", (Precision.Half, 1e-2, 1e-2),
            (Precision.Float, 1e-4, 1e-4));
    }
}
