using Fusion.Compiler;
using Fusion.Cuda.Gemm;

namespace Fusion.Cuda.Tests;

/// <summary>FUSION_GEMM_GELU read without a GPU: erf or tanh, erf when unset, a clear error otherwise; tanh adds one compiler option.</summary>
public sealed class EpilogueGeluTests
{
    [Theory]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData(" ERF ", false)]
    [InlineData("tanh", true)]
    [InlineData("Tanh", true)]
    public void TheSwitchReadsErfAndTanh(string? value, bool tanh) => Assert.Equal(tanh, EpilogueGelu.Parse(value));

    [Fact]
    public void ABadFormNamesTheVariableAndTheChoices()
    {
        var e = Assert.Throws<FusionException>(() => EpilogueGelu.Parse("on"));
        Assert.Contains("FUSION_GEMM_GELU=on", e.Message);
        Assert.Contains("erf, tanh", e.Message);
    }

    [Fact]
    public void TanhAddsItsDefineToTheOptionsAndErfLeavesThem()
    {
        string[] options = ["-DFUSION_IO_HALF=1"];
        Assert.Same(options, EpilogueGelu.Apply(options, tanh: false));
        Assert.Equal(["-DFUSION_IO_HALF=1", "-DFUSION_GELU_TANH=1"], EpilogueGelu.Apply(options, tanh: true));
    }

    /// <summary>
    /// The bound EpilogueGeluGpuTests and the documentation state for the two forms themselves: GELU's tanh form (the descriptor's
    /// float64 reference) is within 4.8e-4 of the erf form over [−10, 10] in steps of 1e-3.
    /// </summary>
    [Fact]
    public void TheTanhFormIsWithinItsStatedDistanceOfErf()
    {
        double worst = 0;
        for (int i = -10_000; i <= 10_000; i++)
        {
            double x = i * 1e-3;
            worst = Math.Max(worst, Math.Abs(Ops.GeluTanh.Apply([x], AttributeSet.Empty) - Ops.Gelu.Apply([x], AttributeSet.Empty)));
        }
        Assert.InRange(worst, 4.0e-4, 4.8e-4);
    }
}
