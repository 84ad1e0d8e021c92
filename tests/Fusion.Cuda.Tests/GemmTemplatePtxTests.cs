using System.Text.RegularExpressions;
using Fusion.Compiler;
using Fusion.Cuda.Gemm;
using Fusion.Kernels;
using Fusion.Testing;

namespace Fusion.Cuda.Tests;

/// <summary>
/// CI without a GPU: the gemm template specialized with generated epilogues (<see cref="GemmKernels.Linear"/>, and the hand-lowered
/// chains of <see cref="CustomGemms"/>) compiles to PTX for sm_80 and sm_90 with clang-19, in every tile and both io types; so does its
/// int8 variant (<see cref="GemmKernels.LinearInt8"/>: mma.sync m16n8k32 s8, int32 sums converted with cvt.rn.f32.s32).
/// </summary>
public sealed class GemmTemplatePtxTests
{
    /// <summary>The kernels by a short name (theory data stays serializable).</summary>
    private static readonly Dictionary<string, Func<GemmKernel>> s_kernels = new()
    {
        ["fc1_bias_gelu"] = () => GemmKernels.Linear(384, 96, bias: true, Activation.Gelu, residual: false),            // 16-byte cp.async, paired stores
        ["fc2_bias_residual"] = () => GemmKernels.Linear(96, 384, bias: true, Activation.None, residual: true),         // Swin fc2 + residual
        ["bare"] = () => GemmKernels.Linear(288, 96, bias: false, Activation.None, residual: false),                    // the product alone
        ["odd_relu_residual"] = () => GemmKernels.Linear(37, 13, bias: false, Activation.Relu, residual: true),          // odd N, K % 8 != 0: scalar x, padded w (KW = 16)
        ["narrow_bias_gelu_residual"] = () => GemmKernels.Linear(30, 36, bias: true, Activation.Gelu, residual: true),  // BN = 32, scalar x, KW = 40
        ["layer_scale"] = () => CustomGemms.LayerScaleResidual(96, 384).Kernel,                                         // an epilogue cuBLASLt has no form for
        ["layer_scale_odd"] = () => CustomGemms.LayerScaleResidual(37, 13).Kernel,
        ["cast_to_io"] = () => CustomGemms.ResidualCastToIo(96, 384).Kernel,                                           // output in the io type
        ["f32_epilogue"] = () => GemmKernels.Linear(96, 384, bias: true, Activation.Gelu, residual: true, DType.Float32), // fp32 epilogue buffers
        ["s8_fc1_scale_bias_gelu"] = () => GemmKernels.LinearInt8(384, 96, bias: true, Activation.Gelu, residual: false),  // int8: vector x, KW = K
        ["s8_fc2_scale_bias_residual"] = () => GemmKernels.LinearInt8(96, 384, bias: true, Activation.None, residual: true),
        ["s8_odd_relu_residual"] = () => GemmKernels.LinearInt8(37, 13, bias: false, Activation.Relu, residual: true),      // K odd: scalar x, KW = 16
        ["s8_k40_bias_gelu_residual"] = () => GemmKernels.LinearInt8(30, 40, bias: true, Activation.Gelu, residual: true), // K % 16 == 8: scalar x, KW = 48
        ["s8_f32_epilogue"] = () => GemmKernels.LinearInt8(96, 384, bias: true, Activation.Gelu, residual: true, DType.Float32),
    };

    public static TheoryData<string, string, int> Specializations()
    {
        var data = new TheoryData<string, string, int>();
        foreach (var (name, make) in s_kernels)
            foreach (int io in make().Epilogue.UsesIoType ? new[] { 0, 1 } : [0])
                foreach (var arch in new[] { "sm_80", "sm_90" })
                    data.Add(name, arch, io);
        return data;
    }

    [Theory]
    [MemberData(nameof(Specializations))]
    public void TemplateCompilesToPtx(string which, string arch, int io)
    {
        ClangPtx.RequireCompiler();
        var kernel = s_kernels[which]();
        var source = kernel.Epilogue.UsesIoType ? $"#define FUSION_IO_HALF {io}\n" + kernel.CudaSource : kernel.CudaSource;
        var ptx = ClangPtx.Compile(source, arch, kernel.Name);
        Assert.Contains($".target {arch}", ptx);
        Assert.Contains($".entry {kernel.Name}(", ptx);
        const string fp16Mma = "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32", s8Mma = "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32";
        Assert.Contains(kernel.Int8 ? s8Mma : fp16Mma, ptx);
        Assert.DoesNotContain(kernel.Int8 ? fp16Mma : s8Mma, ptx);
        // The int8 sums reach the epilogue as floats rounded to nearest.
        if (kernel.Int8) Assert.Contains("cvt.rn.f32.s32", ptx);
        Assert.Contains("ldmatrix.sync.aligned.m8n8.x4.shared.b16", ptx);
        // The template waits for the previous grid before its first load on sm_90 (ProgrammaticLaunch); below sm_90 nothing is printed.
        Assert.True(ProgrammaticLaunch.IsDeclaredBy(kernel.CudaSource));
        Assert.Equal(arch == "sm_90" ? 1 : 0, Regex.Matches(ptx, @"griddepcontrol\.wait;").Count);
        // w rows are KW elements (a multiple of 16 bytes) apart, so its tiles always move by cp.async; x's only when its rows are
        // (K % 8 == 0 halves, K % 16 == 0 int8). The scalar path is the template's only plain shared-memory store (one element at a time).
        Assert.Contains("cp.async.cg.shared.global", ptx);
        Assert.Equal(kernel.K % GemmRows.Vector(kernel.Int8) != 0, Regex.IsMatch(ptx, kernel.Int8 ? @"st\.shared\.(u8|b8|s8)" : @"st\.shared\.(u16|b16)"));
        // The epilogue's buffers are the kernel's parameters after x, w, m and the batch: one per input other than the product, one per output.
        int buffers = kernel.Epilogue.Ir.Buffers.Count(b => b.Role != BufferRole.Accumulator);
        Assert.Equal(4 + buffers, Regex.Matches(ptx, $@"\.param \.(u64|u32|b64|b32|s32) {kernel.Name}_param_\d+").Count);
    }

    /// <summary>
    /// The io variants store the output in their type: four columns a lane where the epilogue offers quads (float32 as one 16-byte
    /// vector for FUSION_IO_HALF 0, halves as two 32-bit words for 1), a column pair a lane with FUSION_GEMM_PAIRS (an 8-byte float32
    /// vector, or the half pair as one 32-bit word).
    /// </summary>
    [Theory]
    [InlineData(0, false)]
    [InlineData(1, false)]
    [InlineData(0, true)]
    [InlineData(1, true)]
    public void IoVariantStoresTheIoType(int io, bool pairs)
    {
        ClangPtx.RequireCompiler();
        var kernel = CustomGemms.ResidualCastToIo(96, 384).Kernel;
        Assert.Contains("#define FUSION_EPILOGUE_QUADS 1", kernel.CudaSource);
        var ptx = ClangPtx.Compile($"#define FUSION_IO_HALF {io}\n" + (pairs ? "#define FUSION_GEMM_PAIRS 1\n" : "") + kernel.CudaSource, "sm_90", kernel.Name);
        if (io == 0)
        {
            Assert.Contains(pairs ? "st.global.v2.f32" : "st.global.v4.f32", ptx);
            Assert.DoesNotMatch(@"st\.global(\.v\d)?\.(u16|b16|u32|b32)", ptx);
        }
        else
        {
            Assert.Matches(pairs ? @"st\.global\.(u32|b32)" : @"st\.global\.v2\.(u32|b32)", ptx);
            Assert.DoesNotMatch(@"st\.global(\.v\d)?\.f32", ptx);
        }
    }

    /// <summary>
    /// The int8 plan's requantizing GEMM stores its codes four at a time (one 32-bit store a lane) with quads, two (16-bit) with
    /// FUSION_GEMM_PAIRS; the codes are rounded once (cvt.rni) either way.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RequantizedCodesStoreFourOrTwoAtOnce(bool pairs)
    {
        ClangPtx.RequireCompiler();
        var kernel = CustomGemms.RequantizingGelu(384, 96).Kernel;
        Assert.Contains("#define FUSION_EPILOGUE_QUADS 1", kernel.CudaSource);
        var ptx = ClangPtx.Compile((pairs ? "#define FUSION_GEMM_PAIRS 1\n" : "") + kernel.CudaSource, "sm_90", kernel.Name);
        Assert.Matches(pairs ? @"st\.global\.(u16|b16)" : @"st\.global\.(u32|b32)", ptx);
        Assert.DoesNotMatch(pairs ? @"st\.global\.(u32|b32)" : @"st\.global\.(u16|b16)", ptx);
        Assert.Contains("cvt.rni.s32.f32", ptx);
    }

    /// <summary>
    /// Every tile fast-run may pick compiles, fp16 and int8 (N = 384 has thin, wide and Hopper tiles, N = 30 thin ones only). A thin
    /// tile's PTX holds its two static shared tiles with that tile's sizes; a wide or Hopper one has none (its stages are dynamic shared
    /// memory), and its block size is the warps the launcher starts. A Hopper tile is sm_90a code: four wgmma of its width per k-step
    /// (k16 f16 or k32 s8), committed as one group, and the proxy fence before each step's barrier.
    /// </summary>
    [Theory]
    [InlineData(384, 96, false)]
    [InlineData(30, 36, false)]
    [InlineData(384, 96, true)]
    [InlineData(30, 36, true)]
    public void EveryTileCompilesToPtx(int n, int k, bool int8)
    {
        ClangPtx.RequireCompiler();
        var kernel = FullEpilogueLinear(n, k, int8);
        Assert.Equal(n >= 256 ? 4 : n >= 128 ? 3 : n >= 64 ? 1 : 0, GemmTile.Candidates(n).Count(t => t.Wide));
        Assert.Equal(n >= 256 ? 3 : n >= 128 ? 2 : n >= 64 ? 1 : 0, GemmTile.Candidates(n, hopper: true).Count(t => t.Wgmma));
        Assert.Equal(n >= 256 ? 3 : n >= 128 ? 2 : n >= 64 ? 1 : 0, GemmTile.Candidates(n, hopper: true, tma: true).Count(t => t.Tma && !t.Pingpong));
        Assert.Equal(n >= 128 ? 2 : n >= 64 ? 1 : 0, GemmTile.Candidates(n, hopper: true, tma: true).Count(t => t.Pingpong));
        foreach (var tile in GemmTile.Candidates(n, hopper: true, tma: true))
        {
            var ptx = ClangPtx.Compile(tile.Specialize(kernel.CudaSource, n), tile.Wgmma ? GemmTile.HopperArchitecture : "sm_90", kernel.Name);
            Assert.Contains($".entry {kernel.Name}(", ptx);
            Assert.Contains($".maxntid {tile.Threads}, 1, 1", ptx);
            Assert.Single(Regex.Matches(ptx, @"griddepcontrol\.wait;")); // every tile waits for the previous grid (ProgrammaticLaunch)
            if (tile.Tma)
            {
                // Two tensor maps by value, a producer warpgroup (384 threads) whose one thread issues both boxes of a stage against its
                // full barrier, the register hand-over, and the same four wgmma a k-step as the cp.async Hopper tiles (ping-pong: eight,
                // each warpgroup multiplying both m64 blocks of its tile).
                Assert.Equal(384, tile.Threads);
                Assert.Matches(@"\.param \.align 64 \.b8 \w+_param_0\[128\]", ptx);
                Assert.Equal(2, System.Text.RegularExpressions.Regex.Matches(ptx, @"cp\.async\.bulk\.tensor\.2d\.shared::cluster\.global\.mbarrier::complete_tx::bytes").Count);
                Assert.Contains("mbarrier.arrive.expect_tx.shared::cta.b64", ptx);
                Assert.Contains("mbarrier.try_wait.parity.shared::cta.b64", ptx);
                Assert.Contains("setmaxnreg.dec.sync.aligned.u32 40", ptx);
                Assert.Contains("setmaxnreg.inc.sync.aligned.u32 232", ptx);
                var mma = int8 ? $"wgmma.mma_async.sync.aligned.m64n{tile.Columns}k32.s32.s8.s8" : $"wgmma.mma_async.sync.aligned.m64n{tile.Columns}k16.f32.f16.f16";
                Assert.Equal(tile.Pingpong ? 8 : 4, System.Text.RegularExpressions.Regex.Matches(ptx, System.Text.RegularExpressions.Regex.Escape(mma)).Count);
                Assert.DoesNotContain("cp.async.cg.shared.global", ptx); // no thread copies: the copy engine does
                Assert.Equal(196608, tile.Stages * (tile.Rows + tile.Columns) * 128);
                Assert.Equal(196608 + 1024 + 16 * tile.Stages + 16 + 8 * 16 * 40 * 4, tile.DynamicSharedBytes);
                Assert.True(tile.DynamicSharedBytes <= 227 * 1024, $"{tile}: {tile.DynamicSharedBytes} bytes of shared memory, over the 227 KB a Hopper block may ask for");
                continue;
            }
            if (tile.Wgmma)
            {
                Assert.Contains(".target sm_90a", ptx);
                var mma = int8 ? $"wgmma.mma_async.sync.aligned.m64n{tile.Columns}k32.s32.s8.s8" : $"wgmma.mma_async.sync.aligned.m64n{tile.Columns}k16.f32.f16.f16";
                Assert.Equal(4, System.Text.RegularExpressions.Regex.Matches(ptx, System.Text.RegularExpressions.Regex.Escape(mma)).Count);
                Assert.Single(System.Text.RegularExpressions.Regex.Matches(ptx, @"wgmma\.commit_group"));
                Assert.Contains("fence.proxy.async.shared::cta", ptx);
                Assert.DoesNotMatch(@"\.shared \.align \d+ \.b8 [\w$]+\[\d+\]", ptx);
                Assert.Equal(4 * (tile.Rows + tile.Columns) * 128 + 1024, tile.DynamicSharedBytes);
                continue;
            }
            if (tile.Wide)
            {
                Assert.Matches(@"\.extern \.shared \.align 16 \.b8 [\w$]+\[\]", ptx);
                Assert.DoesNotMatch(@"\.shared \.align 16 \.b8 [\w$]+\[\d+\]", ptx);
                Assert.Equal(3 * (tile.Rows + tile.Columns) * 80, tile.DynamicSharedBytes);
                continue;
            }
            // The two shared tiles: 2 stages of BM rows and 2 of BN rows, 80 bytes each (40 halves, 80 int8).
            Assert.Matches($@"\.shared \.align 16 \.b8 [\w$]+\[{2 * tile.Rows * 40 * 2}\]", ptx);
            Assert.Matches($@"\.shared \.align 16 \.b8 [\w$]+\[{2 * tile.Columns * 40 * 2}\]", ptx);
            Assert.DoesNotContain("barrier.cluster", ptx);
        }
    }

    /// <summary>
    /// The split-K tiles compile for sm_90, fp16 and int8, K deep enough for a cluster of 8 (Swin-T stage 3's fc2, 1536) and shallow
    /// (3 k-steps of 64 bytes: K = 96 halves or 160 int8, clusters of 2 only; K = 36 int8 is one step, no split tile): each reads its rank, sums its peers' staged accumulators through
    /// distributed shared memory (floats, or int32 sums converted once, after the sum) and passes two cluster barriers a column chunk;
    /// its static stages are as many as 48 KB hold, up to 4.
    /// </summary>
    [Theory]
    [InlineData(384, 1536, false)]
    [InlineData(384, 1536, true)]
    [InlineData(288, 96, false)]
    [InlineData(30, 160, true)]
    [InlineData(30, 36, true)]
    public void SplitTilesCompileToPtx(int n, int k, bool int8)
    {
        ClangPtx.RequireCompiler();
        var kernel = FullEpilogueLinear(n, k, int8);
        var tiles = GemmTile.SplitTiles(kernel);
        int steps = (k * (int8 ? 1 : 2) + 63) / 64;
        Assert.Equal(2 * new[] { 2, 4, 8 }.Count(s => s <= steps), tiles.Count);
        Assert.All(tiles, t => Assert.True(t.Runs(kernel, 90) && !t.Runs(kernel, 89), $"{t} runs on compute capability 9.0 and newer only"));
        foreach (var tile in tiles)
        {
            var ptx = ClangPtx.Compile(tile.Specialize(kernel.CudaSource, n), "sm_90", kernel.Name);
            Assert.Contains($".entry {kernel.Name}(", ptx);
            Assert.Contains($".maxntid {tile.Threads}, 1, 1", ptx);
            Assert.Contains("%cluster_ctarank", ptx);
            Assert.Contains("mapa.shared::cluster", ptx);
            Assert.Matches(int8 ? @"ld\.shared::cluster\.v2\.(s32|b32|u32)" : @"ld\.shared::cluster\.v2\.f32", ptx);
            Assert.Contains("barrier.cluster.arrive.release.aligned", ptx);
            Assert.Contains("barrier.cluster.wait.acquire.aligned", ptx);
            if (int8) Assert.Contains("cvt.rn.f32.s32", ptx);
            Assert.InRange(tile.Stages, 3, 4);
            Assert.True(tile.Stages * (tile.Rows + tile.Columns) * 80 <= 48 * 1024, $"{tile}: {tile.Stages} stages pass the 48 KB of static shared memory");
            Assert.Matches($@"\.shared \.align 16 \.b8 [\w$]+\[{tile.Stages * tile.Rows * 80}\]", ptx);
            Assert.Matches($@"\.shared \.align 16 \.b8 [\w$]+\[{tile.Stages * tile.Columns * 80}\]", ptx);
        }
    }

    /// <summary>A Linear with bias, GELU and residual in its epilogue, fp16 or int8.</summary>
    private static GemmKernel FullEpilogueLinear(int n, int k, bool int8) => int8
        ? GemmKernels.LinearInt8(n, k, bias: true, Activation.Gelu, residual: true)
        : GemmKernels.Linear(n, k, bias: true, Activation.Gelu, residual: true);

    [Theory]
    [InlineData(null, "FUSION_KW", false)]
    [InlineData(13, "KW must be K rounded up to a multiple of 8", false)]
    [InlineData(24, "KW must be K rounded up to a multiple of 8", false)]
    [InlineData(null, "FUSION_KW", true)]
    [InlineData(8, "(16 int8 with FUSION_GEMM_S8)", true)]   // 8 halves' 16 bytes, but only 8 int8
    [InlineData(32, "(16 int8 with FUSION_GEMM_S8)", true)]
    public void RowStrideOtherThanKRoundedUpToSixteenBytesIsRejected(int? kw, string error, bool int8)
    {
        ClangPtx.RequireCompiler();
        var kernel = int8 ? GemmKernels.LinearInt8(37, 13, bias: false, Activation.None, residual: false)
            : GemmKernels.Linear(37, 13, bias: false, Activation.None, residual: false);
        const string define = "#define FUSION_KW 16\n";
        Assert.Contains(define, kernel.CudaSource, StringComparison.Ordinal);
        var source = kernel.CudaSource.Replace(define, kw is null ? "" : $"#define FUSION_KW {kw}\n", StringComparison.Ordinal);
        var e = Assert.Throws<ClangPtxException>(() => ClangPtx.Compile(source, "sm_80", kernel.Name));
        Assert.Contains(error, e.Diagnostics);
    }

    [Fact]
    public void TemplateWithoutAnEpilogueIsRejected()
    {
        ClangPtx.RequireCompiler();
        var source = KernelText.Specialize(GemmSource.Pattern, "gemm_no_epilogue", GemmSource.Constants(96, 96), KernelTemplates.Get(GemmSource.Pattern), "generated.cuh");
        var e = Assert.Throws<ClangPtxException>(() => ClangPtx.Compile(source, "sm_80", "gemm_no_epilogue"));
        Assert.Contains("the generated epilogue", e.Diagnostics);
    }
}
