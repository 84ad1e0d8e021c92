using Fusion.Runtime.Tests;
using Fusion.Testing;
using Inputs = Fusion.Testing.TestData;

namespace Fusion.Cuda.Tests;

/// <summary>
/// <see cref="AttentionModel"/> (a written-out attention on a packed projection with a mask parameter, and F.Attention with a bias
/// and causal masking, each followed by a residual add) compiled and run on the GPU, both plans, against the same plans on the CPU,
/// batches 1 and 3, fresh random weights and inputs. The Half plan runs each attention as one kernel: the flash-attention template
/// with the residual add printed in as its generated epilogue; the CPU runs the attention twin and then the epilogue. Both compute in
/// float32; the kernel rounds the probabilities to fp16 before p·v (at most 2⁻¹¹·Σ p|v| ≈ 1e-3 here) and the CPU rounds the
/// attention's output once more before the add: within 5e-3 + 2e-3·|b|. The Float plan (the attention as its unfused f32 chain, then
/// the epilogue kernel) within 1e-4 + 1e-4·|b|.
/// </summary>
public sealed class CompiledAttentionGpuTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void BothPlansOnCudaMatchTheCpu(int batch)
    {
        var device = CudaTestEnvironment.RequireDevice();
        using var cuda = new CudaBackend(device);
        int seed = Inputs.NewSeed();
        var model = new AttentionModel();
        Inputs.InitParameters(model, seed);
        using var host = Inputs.Random(seed + 1, batch, 13, 24).ToCpu();
        PlanParity.CudaMatchesCpu(model, cuda, host, $"attention + residual epilogue, batch {batch} (seed {seed})", (Precision.Half, 5e-3, 2e-3),
            (Precision.Float, 1e-4, 1e-4));
    }
}
