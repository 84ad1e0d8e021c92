using Fusion.Testing;

namespace Fusion.Runtime.Tests;

/// <summary>
/// <see cref="AttentionModel"/> compiled (both attentions fused into attention kernels, the packed split and head merges read and
/// written in place) against its eager Forward (the written-out attention as MatMul/Div/Add/Softmax/MatMul, F.Attention through the
/// backend) on the CPU, float32, batches 1 and 3: they differ only in summation order, atol and rtol 1e-5.
/// </summary>
public sealed class CompiledAttentionTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void CompiledAttentionMatchesTheEagerForward(int batch)
    {
        Assert.Equal(2, AttentionModel.Kernels.OfType<FusedKernel>().Count(k => k.Pattern == AttentionKernels.Pattern));
        int seed = TestData.NewSeed();
        var model = new AttentionModel();
        var random = new Random(seed);
        foreach (var (_, parameter) in model.NamedParameters()) parameter.InitUniform(random, 0.5f);
        using var input = TestData.Random(seed + 1, batch, 13, 24).ToCpu();
        using var compiled = model.Run(input);
        using var eager = model.Forward(input);
        Tolerance.AssertClose(compiled, RefTensor.FromCpu((CpuTensor)eager), 1e-5, 1e-5, $"compiled vs eager attention, batch {batch} (seed {seed})");
    }
}
