using Fusion.Cuda.Fused;

namespace Fusion.Cuda.Tests;

/// <summary>How many windows a window-attention block takes (FUSION_WA_WINDOWS and the automatic count), read without a GPU.</summary>
public sealed class WindowsPerBlockTests
{
    /// <summary>FUSION_WA_WINDOWS: auto (or unset, blank) or a positive count; anything else names the variable.</summary>
    [Theory]
    [InlineData(null, null)]
    [InlineData("", null)]
    [InlineData(" AUTO ", null)]
    [InlineData("1", 1)]
    [InlineData(" 12", 12)]
    public void WindowsABlockReadsAutoOrACount(string? value, int? expected) => Assert.Equal(expected, WindowAttentionLauncher.ParseWindows(value));

    [Theory]
    [InlineData("0")]
    [InlineData("-2")]
    [InlineData("two")]
    [InlineData("1.5")]
    public void ABadWindowsABlockNamesTheVariable(string value) =>
        Assert.Contains(WindowAttentionLauncher.WindowsVariable, Assert.Throws<FusionException>(() => WindowAttentionLauncher.ParseWindows(value)).Message);

    /// <summary>
    /// Automatic windows a block: the fewest that make one wave of resident blocks when at most 8 do, else 4 (Swin-T on an H100: 132
    /// SMs × 5 blocks of 96 registers).
    /// </summary>
    [Theory]
    [InlineData(64 * 64 * 3, 660, 4)]    // stage 1 at batch 64: 12 288 (window, head) pairs, one wave would take 19 a block
    [InlineData(64 * 4 * 12, 660, 5)]    // stage 3 at batch 64: 3072 pairs, one wave of 5 a block
    [InlineData(64 * 24, 660, 3)]        // stage 4 at batch 64, and stage 1 at batch 8 (1536 pairs)
    [InlineData(64 * 3, 660, 1)]         // stage 1 at batch 1
    [InlineData(660 * 8, 660, 8)]
    [InlineData(660 * 8 + 1, 660, 4)]
    public void AutomaticWindowsABlockMakesOneWaveOrFour(long pairs, long resident, int expected) =>
        Assert.Equal(expected, WindowAttentionLauncher.AutomaticWindowsPerBlock(pairs, resident));
}
