using Fusion.Cuda.Fused;
using Fusion.Cuda.Gemm;

namespace Fusion.Cuda.Tests;

/// <summary>
/// The on/off switches read from the environment (FUSION_PDL, FUSION_GEMM_SPLITK, FUSION_MLP, FUSION_QKV_ATTENTION), read without a GPU:
/// their values, unset meaning each one's default, and a clear error otherwise.
/// </summary>
public sealed class OnOffSwitchTests
{
    private static readonly Dictionary<string, Func<string?, bool>> s_switches = new()
    {
        [ProgrammaticLaunch.Variable] = ProgrammaticLaunch.Parse,
        [SplitK.Variable] = SplitK.Parse,
        [FusedMlp.Variable] = FusedMlp.Parse,
        [QkvWindowAttention.Variable] = QkvWindowAttention.Parse,
    };

    /// <summary>What unset or blank means: on for the fused MLP and the QKV attention (measured faster where their rules take them), off for the rest.</summary>
    private static readonly HashSet<string> s_onByDefault = [FusedMlp.Variable, QkvWindowAttention.Variable];

    public static TheoryData<string, string?, bool> Values()
    {
        var data = new TheoryData<string, string?, bool>();
        foreach (var variable in s_switches.Keys)
        {
            bool unset = s_onByDefault.Contains(variable);
            foreach (var (value, enabled) in new (string?, bool)[] { (null, unset), ("", unset), ("on", true), (" 1 ", true), ("OFF", false), ("0", false) })
                data.Add(variable, value, enabled);
        }
        return data;
    }

    /// <summary>The fused MLP only where there is a 64-row tile for every SM (Swin-T batch 1 was slower with it, batch 8 faster).</summary>
    [Theory]
    [InlineData(3136, 132, false)]
    [InlineData(132 * 64 - 63, 132, true)]
    [InlineData(132 * 64 - 64, 132, false)]
    [InlineData(25_088, 132, true)]
    [InlineData(25_088, 500, false)]
    public void TheFusedMlpRunsWhereEverySmHasATile(long rows, int sms, bool pays) => Assert.Equal(pays, FusedMlp.Pays(rows, sms));

    /// <summary>
    /// The QKV attention where 3 blocks share an SM or the grid is one wave (Swin-T on an H100: stage 1 at any batch, every stage at
    /// batch 1; not stages 2 and 3 at batch 64, where the GEMM and the attention were faster).
    /// </summary>
    [Theory]
    [InlineData(3, 64 * 64 * 3, 132, true)]  // stage 1, batch 64
    [InlineData(2, 64 * 16 * 6, 132, false)] // stage 2, batch 64
    [InlineData(1, 64 * 4 * 12, 132, false)] // stage 3, batch 64
    [InlineData(1, 4 * 12, 132, true)]       // stage 3, batch 1
    [InlineData(2, 16 * 6, 132, true)]       // stage 2, batch 1
    [InlineData(2, 264, 132, true)]
    [InlineData(2, 265, 132, false)]
    public void TheQkvAttentionRunsWhereItsBlocksShareSmsOrFitOneWave(int resident, long pairs, int sms, bool pays) =>
        Assert.Equal(pays, QkvWindowAttention.Pays(resident, pairs, sms));

    [Theory]
    [MemberData(nameof(Values))]
    public void TheSwitchReadsOnAndOff(string variable, string? value, bool enabled) => Assert.Equal(enabled, s_switches[variable](value));

    [Theory]
    [InlineData(null, 0)]
    [InlineData(" Auto ", 0)]
    [InlineData("1", 1)]
    [InlineData("2", 2)]
    public void TheQkvAttentionsXBuffersAreAutoOneOrTwo(string? value, int buffers) => Assert.Equal(buffers, QkvWindowAttention.ParseBuffers(value));

    [Fact]
    public void ABadXBufferCountNamesTheVariable()
    {
        var e = Assert.Throws<FusionException>(() => QkvWindowAttention.ParseBuffers("3"));
        Assert.Contains("FUSION_QKV_X_BUFFERS=3", e.Message);
    }

    [Theory]
    [InlineData(ProgrammaticLaunch.Variable)]
    [InlineData(SplitK.Variable)]
    [InlineData(FusedMlp.Variable)]
    [InlineData(QkvWindowAttention.Variable)]
    public void ABadSwitchNamesTheVariableAndTheChoices(string variable)
    {
        var e = Assert.Throws<FusionException>(() => s_switches[variable]("sometimes"));
        Assert.Contains($"{variable}=sometimes", e.Message);
        Assert.Contains("on, off", e.Message);
    }
}
