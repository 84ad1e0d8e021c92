using Fusion.Cuda.Fused;
using Fusion.Cuda.Gemm;

namespace Fusion.Cuda.Tests;

/// <summary>
/// The on/off switches read from the environment (FUSION_PDL, FUSION_GEMM_SPLITK, FUSION_MLP, FUSION_CLUSTER_MLP,
/// FUSION_QKV_ATTENTION, FUSION_GEMM_QUADS, FUSION_NVRTC_LINEINFO) and the three-way ones (FUSION_QKV_NORM, FUSION_QKV_OUT), read
/// without a GPU: their values, unset meaning each one's default, and a clear error otherwise.
/// </summary>
public sealed class OnOffSwitchTests
{
    private static readonly Dictionary<string, Func<string?, bool>> s_switches = new()
    {
        [ProgrammaticLaunch.Variable] = ProgrammaticLaunch.Parse,
        [SplitK.Variable] = SplitK.Parse,
        [FusedMlp.Variable] = FusedMlp.Parse,
        [ClusterMlp.Variable] = ClusterMlp.Parse,
        [QkvWindowAttention.Variable] = QkvWindowAttention.Parse,
        [EpilogueQuads.Variable] = EpilogueQuads.Parse,
        [NvrtcLineInfo.Variable] = NvrtcLineInfo.Parse,
    };

    /// <summary>
    /// What unset or blank means: on for the fused MLP, the QKV attention (measured faster where their rules take them) and the GEMM
    /// epilogue's four columns a lane (measured faster on the int8 plan), off for the rest.
    /// </summary>
    private static readonly HashSet<string> s_onByDefault = [FusedMlp.Variable, QkvWindowAttention.Variable, EpilogueQuads.Variable];

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
    /// The cluster MLP's split: the most blocks a 64-row tile that keep the clusters to one wave, each block's hidden units 64, 96 or
    /// 128 and dividing the channels, whole groups of four output columns a block, its shared memory within the device's (227 KB on
    /// Hopper).
    /// Swin-T on 132 SMs: stages 2 and 3 at batch 1 take 8 and 16; stage 4 does not fit; batch 8 has too many tiles.
    /// </summary>
    [Theory]
    [InlineData(784, 192, 768, 132, 8)]     // stage 2, batch 1: 13 tiles
    [InlineData(196, 384, 1536, 132, 16)]   // stage 3, batch 1: 4 tiles, 214 KB
    [InlineData(196, 384, 1536, 40, null)]  // fewer SMs: 4 tiles × 16 > 40, and 8 a cluster is 192 units a block
    [InlineData(49, 768, 3072, 132, null)]  // stage 4, batch 1: 192 units a block at 16, more below
    [InlineData(1568, 384, 1536, 132, null)] // stage 3, batch 8: 25 tiles
    [InlineData(6272, 192, 768, 132, null)] // stage 2, batch 8
    [InlineData(1, 128, 512, 132, 8)]       // 32 hidden units a block at 16: too few
    [InlineData(100, 128, 1024, 132, 16)]
    [InlineData(100, 192, 2048, 132, null)] // 128 units a block do not divide 192 channels; 256 are too many
    [InlineData(100, 64, 1000, 132, null)]  // 1000 splits into no multiple of 16 of at least 64
    public void TheClusterMlpSplitsTheHiddenUnitsOverOneWave(long rows, int channels, int hidden, int sms, int? split) =>
        Assert.Equal(split, ClusterMlp.Split(rows, channels, hidden, sms, 227 * 1024));

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

    /// <summary>
    /// The norm prologue and the output projection in the QKV attention, at most six heads in one wave (Swin-T on an H100, inside the
    /// graph: stages 1 and 2 at batch 1 a microsecond a block faster with each, stage 3 at batch 1 and stage 1 at batch 64 slower).
    /// </summary>
    [Theory]
    [InlineData(3, 64 * 3, 3, 132, true)]       // stage 1, batch 1
    [InlineData(6, 16 * 6, 2, 132, true)]       // stage 2, batch 1
    [InlineData(12, 4 * 12, 1, 132, false)]     // stage 3, batch 1: every head's block repeats the window's work
    [InlineData(3, 64 * 64 * 3, 3, 132, false)] // stage 1, batch 64: many waves
    [InlineData(6, 8 * 16 * 6, 2, 132, false)]  // stage 2, batch 8
    [InlineData(6, 264, 2, 132, true)]
    [InlineData(6, 265, 2, 132, false)]
    [InlineData(7, 7, 4, 132, false)]
    public void TheRepeatingFormsRunForFewHeadsInOneWave(int heads, long pairs, int resident, int sms, bool pays) =>
        Assert.Equal(pays, QkvWindowAttention.RepeatedWorkPays(heads, pairs, resident, sms));

    public static TheoryData<string, string?, FormMode> FormValues()
    {
        var data = new TheoryData<string, string?, FormMode>();
        foreach (var variable in new[] { QkvWindowAttention.NormVariable, QkvWindowAttention.OutVariable })
            foreach (var (value, mode) in new (string?, FormMode)[] { (null, FormMode.Off), ("", FormMode.Off), (" AUTO", FormMode.Auto), ("on", FormMode.On),
                         ("1", FormMode.On), ("Off ", FormMode.Off), ("0", FormMode.Off) })
                data.Add(variable, value, mode);
        return data;
    }

    private static FormMode ParseForm(string variable, string? value) =>
        variable == QkvWindowAttention.NormVariable ? QkvWindowAttention.ParseNorm(value) : QkvWindowAttention.ParseOut(value);

    [Theory]
    [MemberData(nameof(FormValues))]
    public void TheFormSwitchReadsAutoOnAndOff(string variable, string? value, FormMode mode) => Assert.Equal(mode, ParseForm(variable, value));

    [Theory]
    [InlineData(QkvWindowAttention.NormVariable)]
    [InlineData(QkvWindowAttention.OutVariable)]
    public void ABadFormSwitchNamesTheVariableAndTheChoices(string variable)
    {
        var e = Assert.Throws<FusionException>(() => ParseForm(variable, "sometimes"));
        Assert.Contains($"{variable}=sometimes", e.Message);
        Assert.Contains("auto, on, off", e.Message);
    }

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
    [InlineData(ClusterMlp.Variable)]
    [InlineData(QkvWindowAttention.Variable)]
    [InlineData(EpilogueQuads.Variable)]
    [InlineData(NvrtcLineInfo.Variable)]
    public void ABadSwitchNamesTheVariableAndTheChoices(string variable)
    {
        var e = Assert.Throws<FusionException>(() => s_switches[variable]("sometimes"));
        Assert.Contains($"{variable}=sometimes", e.Message);
        Assert.Contains("on, off", e.Message);
    }

    /// <summary>
    /// Quads off puts FUSION_GEMM_PAIRS in front of a specialized GEMM's FUSION_KERNEL line (where the tile's settings go), on leaves
    /// the source as it is; a source without that line is refused by name.
    /// </summary>
    [Fact]
    public void QuadsOffComeAsPairsDefinedInFrontOfTheKernel()
    {
        var kernel = GemmKernels.Linear(384, 96, bias: true, Activation.Gelu, residual: false);
        Assert.Same(kernel.CudaSource, EpilogueQuads.Apply(kernel.CudaSource, enabled: true));
        var pairs = EpilogueQuads.Apply(kernel.CudaSource, enabled: false);
        Assert.Equal(kernel.CudaSource.Length + "#define FUSION_GEMM_PAIRS 1\n".Length, pairs.Length);
        Assert.True(pairs.IndexOf("#define FUSION_GEMM_PAIRS 1\n#define FUSION_KERNEL ", StringComparison.Ordinal) >= 0);
        var e = Assert.Throws<FusionException>(() => EpilogueQuads.Apply("extern \"C\" __global__ void k() {}", enabled: false));
        Assert.Contains("FUSION_GEMM_PAIRS", e.Message);
    }

    /// <summary>
    /// FUSION_NVRTC_LINEINFO on adds -lineinfo to the options every compilation gets (and so to every kernel's cache key), off leaves
    /// the standard C++17 alone.
    /// </summary>
    [Fact]
    public void LineInfoJoinsTheStandardOptions()
    {
        string[] standard = ["--std=c++17"];
        Assert.Same(standard, NvrtcLineInfo.Apply(standard, enabled: false));
        Assert.Equal(["--std=c++17", "-lineinfo"], NvrtcLineInfo.Apply(standard, enabled: true));
        Assert.Equal(NvrtcLineInfo.Enabled ? ["--std=c++17", "-lineinfo"] : standard, Nvrtc.StandardOptions);
    }
}
