using Fusion.Runtime.Tests;
using Fusion.Testing;
using Inputs = Fusion.Testing.TestData;

namespace Fusion.Cuda.Tests;

/// <summary>
/// A GEMM epilogue stored through a window reverse and a roll (WindowProjectionViews: [FusedModel(ViewsInGemmEpilogue = true)]) on the
/// GPU against the CPU plan, both plans, batches 1 and 3, fresh random parameters and inputs; the default plan of the same blocks beside
/// it. Tolerances as the other compiled models' (PlanParity): Half 5e-3 + 2e-3·|cpu|, Float 1e-4 + 1e-4·|cpu|.
/// </summary>
public sealed class WindowEpilogueGpuTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void BothPlansOnCudaMatchTheCpu(int batch)
    {
        var device = CudaTestEnvironment.RequireDevice();
        using var cuda = new CudaBackend(device);
        int seed = Inputs.NewSeed();
        foreach (var model in new IFusedModel[] { new WindowProjectionViews(), new WindowProjection() })
        {
            Inputs.InitParameters(model, seed);
            using var host = Inputs.Random(seed + 1, batch, 8, 12, 12).ToCpu();
            PlanParity.CudaMatchesCpu(model, cuda, host, $"{model.GetType().Name}, batch {batch} (seed {seed})", (Precision.Half, 5e-3, 2e-3),
                (Precision.Float, 1e-4, 1e-4));
        }
    }
}
