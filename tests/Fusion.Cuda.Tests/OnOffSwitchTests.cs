using Fusion.Cuda.Fused;
using Fusion.Cuda.Gemm;

namespace Fusion.Cuda.Tests;

/// <summary>The on/off switches read from the environment (FUSION_PDL, FUSION_GEMM_SPLITK, FUSION_MLP), read without a GPU: their values, and a clear error otherwise.</summary>
public sealed class OnOffSwitchTests
{
    private static readonly Dictionary<string, Func<string?, bool>> s_switches = new()
    {
        [ProgrammaticLaunch.Variable] = ProgrammaticLaunch.Parse,
        [SplitK.Variable] = SplitK.Parse,
        [FusedMlp.Variable] = FusedMlp.Parse,
    };

    public static TheoryData<string, string?, bool> Values()
    {
        var data = new TheoryData<string, string?, bool>();
        foreach (var variable in s_switches.Keys)
            foreach (var (value, enabled) in new (string?, bool)[] { (null, false), ("", false), ("on", true), (" 1 ", true), ("OFF", false), ("0", false) })
                data.Add(variable, value, enabled);
        return data;
    }

    [Theory]
    [MemberData(nameof(Values))]
    public void TheSwitchReadsOnAndOff(string variable, string? value, bool enabled) => Assert.Equal(enabled, s_switches[variable](value));

    [Theory]
    [InlineData(ProgrammaticLaunch.Variable)]
    [InlineData(SplitK.Variable)]
    [InlineData(FusedMlp.Variable)]
    public void ABadSwitchNamesTheVariableAndTheChoices(string variable)
    {
        var e = Assert.Throws<FusionException>(() => s_switches[variable]("sometimes"));
        Assert.Contains($"{variable}=sometimes", e.Message);
        Assert.Contains("on, off", e.Message);
    }
}
