using System.Text.RegularExpressions;
using Fusion.Kernels;
using Fusion.Testing;

namespace Fusion.Cuda.Tests;

/// <summary>CI without a GPU: every shipped kernel must compile to PTX for sm_80 and sm_90 with clang-19.</summary>
public sealed partial class ClangPtxTests
{
    public static TheoryData<string, string> KernelsAndArchitectures()
    {
        var data = new TheoryData<string, string>();
        foreach (var name in KernelSources.Kernels.Keys)
        {
            data.Add(name, "sm_80");
            data.Add(name, "sm_90");
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(KernelsAndArchitectures))]
    public void ShippedKernelCompilesToPtx(string file, string arch)
    {
        ClangPtx.RequireCompiler();
        var source = KernelSources.Get(file);
        var ptx = ClangPtx.Compile(source, arch, Path.GetFileNameWithoutExtension(file));
        Assert.Contains($".target {arch}", ptx);
        foreach (Match m in KernelName().Matches(source))
            Assert.Contains($".entry {m.Groups[1].Value}(", ptx);
    }

    /// <summary>
    /// Constants of the window-attention template (Swin-T stage-1 sizes, 64 tokens (no padded rows), head dim 64 (one staging buffer:
    /// two exceed 48 KB), and odd ones: heads 5 × dim 5, 9 tokens, no mask) and of the flash-attention template (ViT's head dim,
    /// the largest with causal and bias, 80, and 20: the guarded element-wise path).
    /// </summary>
    private static readonly Dictionary<(string Pattern, string Variant), (string Key, int Value)[]> s_templateConstants = new()
    {
        [("window_attention", "swin-t")] = [("HEADS", 3), ("HEAD_DIM", 32), ("TOKENS", 49), ("WINDOWS", 64), ("HAS_MASK", 1)],
        [("window_attention", "t64")] = [("HEADS", 2), ("HEAD_DIM", 32), ("TOKENS", 64), ("WINDOWS", 4), ("HAS_MASK", 1)],
        [("window_attention", "d64")] = [("HEADS", 2), ("HEAD_DIM", 64), ("TOKENS", 49), ("WINDOWS", 1), ("HAS_MASK", 0)],
        [("window_attention", "odd")] = [("HEADS", 5), ("HEAD_DIM", 5), ("TOKENS", 9), ("WINDOWS", 4), ("HAS_MASK", 0)],
        [("attention", "vit")] = [("HEAD_DIM", 64), ("CAUSAL", 0), ("HAS_BIAS", 0)],
        [("attention", "d128-causal-bias")] = [("HEAD_DIM", 128), ("CAUSAL", 1), ("HAS_BIAS", 1)],
        [("attention", "d80")] = [("HEAD_DIM", 80), ("CAUSAL", 0), ("HAS_BIAS", 1)],
        [("attention", "d20-guarded")] = [("HEAD_DIM", 20), ("CAUSAL", 1), ("HAS_BIAS", 0)],
    };

    public static TheoryData<string, string, string> TemplatesAndArchitectures()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var (pattern, variant) in s_templateConstants.Keys)
        {
            data.Add(pattern, variant, "sm_80");
            data.Add(pattern, variant, "sm_90");
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(TemplatesAndArchitectures))]
    public void FusedTemplateCompilesToPtx(string pattern, string variant, string arch)
    {
        ClangPtx.RequireCompiler();
        var kernel = FusedKernelTests.Specialize(pattern, s_templateConstants[(pattern, variant)]);
        var ptx = ClangPtx.Compile(kernel.CudaSource, arch, kernel.Name);
        Assert.Contains($".target {arch}", ptx);
        Assert.Contains($".entry {kernel.Name}(", ptx);
        Assert.DoesNotContain(".local", ptx); // register arrays stayed in registers
        // Launched programmatically behind another Fusion kernel (ProgrammaticLaunch), so it must wait on sm_90; below, nothing.
        Assert.True(ProgrammaticLaunch.IsDeclaredBy(kernel.CudaSource));
        Assert.Equal(arch == "sm_90", ptx.Contains("griddepcontrol.wait;", StringComparison.Ordinal));
    }

    [Fact]
    public void BrokenKernelFailsWithDiagnostics()
    {
        ClangPtx.RequireCompiler();
        const string source = "#include \"prelude.cuh\"\nextern \"C\" __global__ void k(half* p) { p[0] = no_such_function(); }\n";
        var e = Assert.Throws<ClangPtxException>(() => ClangPtx.Compile(source, "sm_90", "broken"));
        Assert.Contains("no_such_function", e.Diagnostics);
    }

    /// <summary>
    /// The fused MLP's Hopper body (sm_90a: its warpgroup MMA; for sm_80 and sm_90 the shipped-kernel test above compiles its trap) in
    /// each form FusedMlp launches: GELU by erf or tanh, two or three warpgroups; all in registers (no local memory).
    /// </summary>
    [Theory]
    [InlineData(1, 3)]
    [InlineData(1, 2)]
    [InlineData(0, 3)]
    [InlineData(0, 2)]
    public void TheFusedMlpCompilesForHopper(int erf, int groups)
    {
        ClangPtx.RequireCompiler();
        var source = $"#define FUSION_MLP_ERF {erf}\n#define FUSION_MLP_GROUPS {groups}\n" + KernelSources.Get("fused_mlp.cu");
        var ptx = ClangPtx.Compile(source, "sm_90a", $"fused_mlp_{erf}_{groups}");
        Assert.Contains(".entry fused_mlp_c96_h384(", ptx);
        Assert.Contains("wgmma.mma_async.sync.aligned.m64n96k16.f32.f16.f16", ptx);
        Assert.Contains(erf == 1 ? "ex2.approx" : "tanh.approx", ptx);
        Assert.DoesNotContain(".local", ptx);
    }

    /// <summary>
    /// The MLP over few rows (cluster_mlp.cu) in forms ClusterMlp launches: Swin-T's stages 2 and 3 (clusters of 8 and 16), GELU by erf
    /// or tanh, and a narrow one; for sm_90 its cluster barriers and distributed-shared-memory reads present, all in registers; for
    /// sm_80 the trap alone.
    /// </summary>
    [Theory]
    [InlineData(192, 768, 8, 1, "sm_90")]
    [InlineData(384, 1536, 16, 0, "sm_90")]
    [InlineData(384, 1536, 16, 1, "sm_90")]
    [InlineData(128, 1024, 16, 1, "sm_90")]
    [InlineData(128, 512, 8, 0, "sm_80")]
    public void TheClusterMlpCompilesToPtx(int channels, int hidden, int split, int erf, string arch)
    {
        ClangPtx.RequireCompiler();
        var source = $"#define FUSION_MLP_C {channels}\n#define FUSION_MLP_H {hidden}\n#define FUSION_MLP_SPLIT {split}\n#define FUSION_MLP_ERF {erf}\n"
            + KernelSources.Get("cluster_mlp.cu");
        var ptx = ClangPtx.Compile(source, arch, $"cluster_mlp_{channels}_{hidden}_{split}");
        Assert.Contains(".entry cluster_mlp(", ptx);
        if (arch == "sm_80")
        {
            Assert.Contains("trap;", ptx);
            return;
        }
        Assert.Contains("barrier.cluster.arrive.release", ptx);
        Assert.Equal(split, Regex.Matches(ptx, @"ld\.shared::cluster\.v4\.f32").Count);  // the partials' sum, unrolled over the cluster
        Assert.Contains(erf == 1 ? "ex2.approx" : "tanh.approx", ptx);
        Assert.DoesNotContain(".local", ptx);
    }

    /// <summary>
    /// The window attention with its QKV projection as a prologue (FUSION_WA_PROJECT) in the forms QkvWindowAttention compiles: Swin-T's
    /// channel counts, masked or not, one or two x buffers, head dims 32 and 64; the projection's mma.sync and cp.async present, all in
    /// registers.
    /// </summary>
    [Theory]
    [InlineData(96, 32, 1, 2, "sm_80")]
    [InlineData(96, 32, 0, 2, "sm_90")]
    [InlineData(192, 32, 1, 2, "sm_90")]
    [InlineData(384, 32, 1, 1, "sm_90")]
    [InlineData(384, 32, 0, 2, "sm_90")]
    [InlineData(128, 64, 0, 2, "sm_90")]
    public void TheQkvPrologueCompilesToPtx(int channels, int headDim, int masked, int buffers, string arch)
    {
        var (kernel, ptx) = CompileWindowAttention(headDim, masked, arch, $"#define FUSION_WA_PROJECT {channels}\n#define FUSION_WA_X_BUFFERS {buffers}\n");
        Assert.Contains($".entry {kernel.Name}(", ptx);
        Assert.Contains("cp.async.cg.shared.global", ptx);
        // The attention's q·kᵀ and p·v (32 mma.sync at head dim 32) plus the projection's, unrolled two k-steps deep.
        Assert.True(Regex.Matches(ptx, @"mma\.sync\.aligned\.m16n8k16").Count >= 32 + 2 * 3 * headDim / 8);
        Assert.DoesNotContain(".local", ptx);
    }

    /// <summary>
    /// The QKV prologue with the norm prologue in front (FUSION_WA_NORM): Swin-T's channel counts and a C whose channel pairs do not fill
    /// the warp's lanes evenly (96: 48 pairs), masked or not; the gather's cp.async, the warp sums and the norm's rsqrt present, all in
    /// registers.
    /// </summary>
    [Theory]
    [InlineData(96, 1, 2, "sm_80")]
    [InlineData(96, 0, 2, "sm_90")]
    [InlineData(192, 1, 2, "sm_90")]
    [InlineData(384, 1, 1, "sm_90")]
    [InlineData(160, 0, 2, "sm_90")]
    public void TheNormPrologueCompilesToPtx(int channels, int masked, int buffers, string arch)
    {
        var (kernel, ptx) = CompileWindowAttention(32, masked, arch, $"#define FUSION_WA_PROJECT {channels}\n#define FUSION_WA_X_BUFFERS {buffers}\n#define FUSION_WA_NORM 7\n");
        Assert.Contains($".entry {kernel.Name}(", ptx);
        Assert.Contains("cp.async.cg.shared.global", ptx);
        Assert.Contains("rsqrt.approx.f32", ptx);
        Assert.Contains("shfl.sync.bfly", ptx);
        // Eight parameters before the norm's seven (x, w, wb, bias, mask, out, windows, scale; gamma, beta, eps, height, width, back_h, back_w).
        Assert.Contains($"{kernel.Name}_param_14", ptx);
        Assert.DoesNotContain(".local", ptx);
    }

    /// <summary>Without the QKV projection prologue the norm prologue is refused at compile time, naming what it needs.</summary>
    [Fact]
    public void TheNormPrologueAloneIsACompileError()
    {
        var e = Assert.ThrowsAny<Exception>(() => CompileWindowAttention(32, 1, "sm_90", "#define FUSION_WA_NORM 7\n"));
        Assert.Contains("needs the QKV projection prologue", e.Message);
    }

    /// <summary>
    /// The output projection after the attention (FUSION_WA_OUT) on thread-block clusters: Swin-T's stages 1–3 (3, 6 and 12 heads of
    /// 32), with the norm prologue or not, one or two x buffers; the cluster's split barrier, the peers' rows read through mapa and
    /// ld.shared::cluster, the projection's extra mma.sync, all in registers.
    /// </summary>
    [Theory]
    [InlineData(3, 1, 2, true)]
    [InlineData(3, 0, 2, false)]
    [InlineData(6, 1, 2, true)]
    [InlineData(12, 1, 1, true)]
    [InlineData(12, 0, 2, false)]
    public void TheOutputProjectionCompilesToPtx(int heads, int masked, int buffers, bool norm)
    {
        var (kernel, ptx) = CompileWindowAttention(32, masked, "sm_90",
            $"#define FUSION_WA_PROJECT {heads * 32}\n#define FUSION_WA_X_BUFFERS {buffers}\n#define FUSION_WA_OUT 1\n" + (norm ? "#define FUSION_WA_NORM 7\n" : ""), heads);
        Assert.Contains($".entry {kernel.Name}(", ptx);
        Assert.Contains("barrier.cluster.arrive.release.aligned", ptx);
        Assert.Contains("barrier.cluster.wait.acquire.aligned", ptx);
        Assert.Contains("mapa.shared::cluster.u32", ptx);
        Assert.Contains("ld.shared::cluster.v4.u32", ptx);
        // The attention's 32 mma.sync, the QKV projection's 12 a k-step (unrolled two deep) and the output projection's 4 a k-step.
        Assert.True(Regex.Matches(ptx, @"mma\.sync\.aligned\.m16n8k16").Count >= 32 + 2 * 12 + 4);
        // pw and pb after the other parameters (8, the norm's 7).
        Assert.Contains($"{kernel.Name}_param_{(norm ? 16 : 9)}", ptx);
        Assert.DoesNotContain(".local", ptx);
    }

    /// <summary>The output projection is refused at compile time without the QKV prologue, and on a GPU without clusters (sm_80).</summary>
    [Fact]
    public void TheOutputProjectionOutsideItsFormIsACompileError()
    {
        var alone = Assert.ThrowsAny<Exception>(() => CompileWindowAttention(32, 1, "sm_90", "#define FUSION_WA_OUT 1\n"));
        Assert.Contains("output projection needs the QKV projection prologue", alone.Message);
        var ampere = Assert.ThrowsAny<Exception>(() => CompileWindowAttention(32, 1, "sm_80", "#define FUSION_WA_PROJECT 96\n#define FUSION_WA_OUT 1\n"));
        Assert.Contains("runs on thread-block clusters", ampere.Message);
    }

    /// <summary>The window attention specialized for <paramref name="heads"/> heads of <paramref name="headDim"/>, 49 tokens, 4 mask windows, compiled to PTX with <paramref name="defines"/> in front (the form's -D options).</summary>
    private static (FusedKernel Kernel, string Ptx) CompileWindowAttention(int headDim, int masked, string arch, string defines, int heads = 3)
    {
        ClangPtx.RequireCompiler();
        var kernel = FusedKernelTests.Specialize("window_attention", ("HEADS", heads), ("HEAD_DIM", headDim), ("TOKENS", 49), ("WINDOWS", 4), ("HAS_MASK", masked));
        return (kernel, ClangPtx.Compile(defines + kernel.CudaSource, arch, kernel.Name));
    }

    /// <summary>
    /// Every function the shipped CUDA text defines at file scope carries an execution space (FUSION_DEVICE, __device__, __global__):
    /// NVRTC refuses an unannotated one as a host function ("host functions are not allowed in JIT mode"), constexpr ones included,
    /// where clang takes a constexpr function as host and device alike, so the PTX tests above cannot see it (a constexpr helper in
    /// the window attention's norm prologue failed this way on an H100, 2026-12-06).
    /// </summary>
    [Fact]
    public void EveryFileScopeFunctionHasAnExecutionSpace()
    {
        var texts = KernelSources.All.Concat(KernelTemplates.All);
        var unannotated = texts.SelectMany(t => t.Value.Split('\n').Select((line, i) => (File: t.Key, Line: i + 1, Text: line)))
            .Where(l => FileScopeFunction().IsMatch(l.Text) && !Regex.IsMatch(l.Text, @"\bstruct\b") // a type, not a function
                && !l.Text.Contains("FUSION_DEVICE", StringComparison.Ordinal) && !l.Text.Contains("__device__", StringComparison.Ordinal)
                && !l.Text.Contains("__global__", StringComparison.Ordinal))
            .Select(l => $"{l.File}:{l.Line}: {l.Text.Trim()}").ToList();
        Assert.True(unannotated.Count == 0, "functions NVRTC would take for host code:\n" + string.Join("\n", unannotated));
        Assert.Matches(FileScopeFunction(), "constexpr int side(int tokens) { return 7; }"); // what the rule is there to catch
    }

    /// <summary>A line that starts a function definition at file scope: qualifiers, a return type, a name and "(".</summary>
    [GeneratedRegex(@"^(?:static |inline |constexpr |template\s*<[^>]*>\s*)*[A-Za-z_][\w:<>]*[\s*&]+[A-Za-z_]\w*\s*\(")]
    private static partial Regex FileScopeFunction();

    [GeneratedRegex(@"extern ""C"" __global__ void (?:__launch_bounds__\([^)]*\) )?(\w+)\(")]
    private static partial Regex KernelName();
}
