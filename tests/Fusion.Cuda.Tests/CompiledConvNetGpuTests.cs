using Fusion.Runtime.Tests;
using Fusion.Testing;
using Inputs = Fusion.Testing.TestData;

namespace Fusion.Cuda.Tests;

/// <summary>
/// <see cref="SmallConvNet"/> (every convolution-family operator: im2col GEMMs with folded batch norm and their epilogues, the
/// depthwise and dilated grouped reductions, max and average pooling, the channels-first LayerNorm read in place, global pooling)
/// compiled and run on the GPU, both plans, against the same plans on the CPU, batches 1 and 3. Float plan: the same float32
/// arithmetic in another order, within 1e-4 + 1e-4·|b|. Half plan: both round every stored value to fp16, but not always at the
/// same points (cuBLASLt's epilogue vs the CPU's), a few fp16 ulps through six layers: within 1e-2 + 1e-2·|b|.
/// </summary>
public sealed class CompiledConvNetGpuTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void BothPlansOnCudaMatchTheCpu(int batch)
    {
        var device = CudaTestEnvironment.RequireDevice();
        using var cuda = new CudaBackend(device);
        int seed = Inputs.NewSeed();
        var model = new SmallConvNet();
        ConvNetWeights.Initialize(model, seed);
        using var host = Inputs.Random(seed + 1, batch, 3, 17, 15).ToCpu();
        PlanParity.CudaMatchesCpu(model, cuda, host, $"conv net, batch {batch} (seed {seed})", (Precision.Half, 1e-2, 1e-2),
            (Precision.Float, 1e-4, 1e-4));
    }
}
