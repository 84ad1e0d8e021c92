using Fusion.Testing;

namespace Fusion.Runtime.Tests;

/// <summary>
/// <see cref="AttentionModel"/> compiled (both attentions fused into attention kernels, the packed split and head merges read and
/// written in place, each residual add the attention's generated epilogue) against its eager Forward (the written-out attention as
/// MatMul/Div/Add/Softmax/MatMul, F.Attention through the backend) on the CPU, float32, batches 1 and 3: they differ only in
/// summation order, atol and rtol 1e-5. On the CPU a kernel with an epilogue runs the attention twin, then the epilogue interpreted
/// from its loop IR; the GPU side is CompiledAttentionGpuTests.
/// </summary>
public sealed class CompiledAttentionTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void CompiledAttentionMatchesTheEagerForward(int batch)
    {
        int seed = TestData.NewSeed();
        var model = new AttentionModel();
        TestData.InitParameters(model, seed);
        using var input = TestData.Random(seed + 1, batch, 13, 24).ToCpu();
        using var compiled = model.Run(input);
        using var eager = model.Forward(input);
        Tolerance.AssertClose(compiled, RefTensor.FromCpu((CpuTensor)eager), 1e-5, 1e-5, $"compiled vs eager attention, batch {batch} (seed {seed})");
    }

    /// <summary>The residual add after each attention is its epilogue: one kernel per attention and plan (Float: the add, then
    /// the f32 → io cast; Half: the add), each printing the epilogue into the template.</summary>
    [Fact]
    public void TheResidualAddsAreTheAttentionsEpilogues()
    {
        var attention = AttentionModel.Kernels.OfType<FusedKernel>().Where(k => k.Pattern == AttentionKernels.Pattern).ToList();
        Assert.Equal(4, attention.Count);
        foreach (var kernel in attention)
        {
            Assert.NotNull(kernel.Epilogue);
            Assert.Contains(" = add ", kernel.Epilogue!.LoopIr);
            Assert.Contains("fusion_epilogue(", kernel.CudaSource);
        }
        Assert.Equal(2, attention.Count(k => k.Constant("CAUSAL") == 1 && k.Constant("HAS_BIAS") == 1));
    }

    /// <summary>Each attention kernel with its epilogue compiles to PTX for sm_90, in both io variants where the epilogue has io buffers.</summary>
    [Fact]
    public void TheAttentionKernelsWithEpiloguesCompileToPtx()
    {
        ClangPtx.RequireCompiler();
        foreach (var kernel in AttentionModel.Kernels.OfType<FusedKernel>().Where(k => k.Pattern == AttentionKernels.Pattern))
            foreach (int io in kernel.Epilogue!.UsesIoType ? new[] { 0, 1 } : [0])
            {
                var ptx = ClangPtx.Compile($"#define FUSION_IO_HALF {io}\n" + kernel.CudaSource, "sm_90", kernel.Name);
                Assert.Contains($".entry {kernel.Name}(", ptx);
                Assert.Contains("mma.sync.aligned.m16n8k16", ptx);
                Assert.DoesNotContain(".local", ptx);
            }
    }
}
