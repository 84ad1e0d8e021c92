namespace Fusion.Cuda.Tests;

/// <summary>FUSION_PDL, read without a GPU: off unless it says on, and a clear error otherwise.</summary>
public sealed class ProgrammaticLaunchSwitchTests
{
    [Theory]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("on", true)]
    [InlineData(" 1 ", true)]
    [InlineData("OFF", false)]
    [InlineData("0", false)]
    public void TheSwitchReadsOnAndOff(string? value, bool enabled) => Assert.Equal(enabled, ProgrammaticLaunch.Parse(value));

    [Fact]
    public void ABadSwitchNamesTheVariableAndTheChoices()
    {
        var e = Assert.Throws<FusionException>(() => ProgrammaticLaunch.Parse("sometimes"));
        Assert.Contains("FUSION_PDL=sometimes", e.Message);
        Assert.Contains("on, off", e.Message);
    }
}
