using Fusion;
using Fusion.Testing;
using SwinTiny;

namespace Fusion.SwinTiny.Tests;

/// <summary>
/// A window attention whose result goes on through a layer scale and a residual (<see cref="ScaledAttentionMma"/>,
/// <see cref="ScaledAttentionScalar"/>): the compiled model runs them as the attention template with a generated epilogue.
/// On the CPU (the template's twin, then the epilogue interpreted from its loop IR) the compiled Float plan matches the model's
/// eager forward pass (every operator unfused) within 1e-5 + 1e-4·|b| (summation order, exp and erf approximations), at batch 1 and 3.
/// On the GPU (one kernel: the template with the epilogue printed in) the Half plan is compared with the CPU's Half plan
/// within 5e-3 + 2e-3·|b|: both compute in float32, the tensor-core body rounds the probabilities to fp16 before p·v (at most
/// 2⁻¹¹·Σp|v| ≈ 5e-4 here) and both round the output once; the Float plan (the attention as its unfused f32 chain, then the
/// epilogue kernel) within 1e-4 + 1e-4·|b|.
/// </summary>
public sealed class AttentionEpilogueTests
{
    public static TheoryData<string, int> Models() => new() { { "mma", 1 }, { "mma", 3 }, { "scalar", 1 }, { "scalar", 3 } };

    private static IFusedModel Create(string which, int seed)
    {
        IFusedModel model = which == "mma" ? new ScaledAttentionMma() : new ScaledAttentionScalar();
        RandomWeights.Initialize(model, seed);
        return model;
    }

    private static int Channels(string which) => which == "mma" ? 32 : 30;

    [Fact]
    public void TheScaleAndTheResidualAreTheAttentionsEpilogue()
    {
        foreach (var model in new IFusedModel[] { new ScaledAttentionMma(), new ScaledAttentionScalar() })
        {
            // One per plan (Float: x + o·γ then the f32 → io cast; Half: the same, the cast to io included), none without an epilogue.
            var attention = model.Kernels.OfType<FusedKernel>().ToList();
            Assert.Equal(2, attention.Count);
            foreach (var kernel in attention)
            {
                Assert.NotNull(kernel.Epilogue);
                Assert.Contains("_mul_add", kernel.Name);
                Assert.Contains("fusion_epilogue(", kernel.CudaSource);
                Assert.Contains(" = mul ", kernel.Epilogue!.LoopIr);
                Assert.Contains(" = add ", kernel.Epilogue.LoopIr);
            }
        }
    }

    /// <summary>Each attention kernel with its epilogue compiles to PTX (both io variants where the epilogue has io buffers).</summary>
    [Fact]
    public void TheAttentionKernelsWithEpiloguesCompileToPtx()
    {
        ClangPtx.RequireCompiler();
        foreach (var (model, mma) in new (IFusedModel, bool)[] { (new ScaledAttentionMma(), true), (new ScaledAttentionScalar(), false) })
            foreach (var kernel in model.Kernels.OfType<FusedKernel>())
                foreach (int io in kernel.Epilogue!.UsesIoType ? new[] { 0, 1 } : [0])
                {
                    var ptx = ClangPtx.Compile($"#define FUSION_IO_HALF {io}\n" + kernel.CudaSource, "sm_90", kernel.Name);
                    Assert.Contains($".entry {kernel.Name}(", ptx);
                    Assert.Equal(mma, ptx.Contains("mma.sync.aligned.m16n8k16", StringComparison.Ordinal));
                }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void CompiledFloatPlanOnTheCpu_MatchesTheEagerForward(string which, int batch)
    {
        int seed = TestData.NewSeed();
        var model = Create(which, seed);
        var x = TestData.Random(seed + 1, batch, 9, Channels(which));
        using var input = x.ToCpu();
        using var compiled = new ModelSession(model).Run(input);
        using var eager = ((dynamic)model).Forward((Tensor)input);
        Tolerance.AssertClose(compiled, RefTensor.FromCpu((CpuTensor)eager), 1e-5, 1e-4, $"{which} attention + epilogue, compiled vs eager, batch {batch} (seed {seed})");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void OnCuda_BothPlansMatchTheCpu(string which, int batch)
    {
        var device = CudaTestEnvironment.RequireDevice();
        using var cuda = new CudaBackend(device);
        int seed = TestData.NewSeed();
        var model = Create(which, seed);
        var x = TestData.Random(seed + 1, batch, 9, Channels(which));
        using var host = x.ToCpu();
        PlanParity.CudaMatchesCpu(model, cuda, host, $"{which} attention + epilogue, batch {batch} (seed {seed})", (Precision.Half, 5e-3, 2e-3),
            (Precision.Float, 1e-4, 1e-4));
    }
}
