using Fusion;
using Fusion.Testing;

namespace Fusion.ConvNets.Tests;

/// <summary>
/// The same Forward body run eagerly, operator by operator on the CPU, and through the generated plan (convolutions,
/// norms and pools fused as the scheduler decided): the same function in float32, so they agree to rounding.
/// </summary>
public sealed class CompiledVsEagerTests
{
    private const double Atol = 1e-4, Rtol = 1e-3;

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void ResNetMini_CompiledRun_MatchesEagerForward(int batch)
    {
        int seed = TestData.NewSeed();
        var model = new ResNetMini();
        ResNetSample.RandomWeights.Initialize(model, seed);
        using var input = TestImages.Random(seed + 1, batch, ResNetMini.ImageSize).ToCpu();

        using var compiled = model.Run(input);
        using var eager = model.Forward(input);

        Tolerance.AssertClose(compiled, RefTensor.FromCpu((CpuTensor)eager), Atol, Rtol, $"ResNetMini compiled vs eager, batch {batch} (seed {seed})");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void ConvNeXtMini_CompiledRun_MatchesEagerForward(int batch)
    {
        int seed = TestData.NewSeed();
        var model = new ConvNeXtMini();
        ConvNeXtSample.RandomWeights.Initialize(model, seed);
        using var input = TestImages.Random(seed + 1, batch, ConvNeXtMini.ImageSize).ToCpu();

        using var compiled = model.Run(input);
        using var eager = model.Forward(input);

        Tolerance.AssertClose(compiled, RefTensor.FromCpu((CpuTensor)eager), Atol, Rtol, $"ConvNeXtMini compiled vs eager, batch {batch} (seed {seed})");
    }
}
