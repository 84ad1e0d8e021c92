using System.Text.RegularExpressions;
using Fusion.Cuda.Gemm;
using Fusion.Kernels;
using Fusion.Testing;

namespace Fusion.Cuda.Tests;

/// <summary>CI without a GPU: specializations of the gemm_bias_act template compile to PTX for sm_80 and sm_90 with clang-19.</summary>
public sealed class GemmTemplatePtxTests
{
    public static TheoryData<int, int, Activation, bool, bool, string> Specializations()
    {
        var data = new TheoryData<int, int, Activation, bool, bool, string>();
        foreach (var arch in new[] { "sm_80", "sm_90" })
        {
            data.Add(384, 96, Activation.Gelu, true, false, arch);   // Swin fc1: 16-byte cp.async path, half2 stores
            data.Add(96, 384, Activation.None, true, true, arch);    // Swin fc2 + residual
            data.Add(37, 13, Activation.Relu, false, true, arch);    // odd N, K % 8 != 0: scalar x loads and stores, padded w (KW = 16)
            data.Add(30, 36, Activation.Gelu, true, true, arch);     // narrow tile (BN = 32), scalar x loads, padded w (KW = 40)
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Specializations))]
    public void TemplateCompilesToPtx(int n, int k, Activation activation, bool hasBias, bool hasResidual, string arch)
    {
        ClangPtx.RequireCompiler();
        var kernel = FusedGemm.Specialize(n, k, activation, hasBias, hasResidual);
        var ptx = ClangPtx.Compile(kernel.CudaSource, arch, kernel.Name);
        Assert.Contains($".target {arch}", ptx);
        Assert.Contains($".entry {kernel.Name}(", ptx);
        Assert.Contains("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32", ptx);
        Assert.Contains("ldmatrix.sync.aligned.m8n8.x4.shared.b16", ptx);
        // w rows are KW % 8 == 0 halves apart, so its tiles always move by cp.async; x's only when K % 8 == 0. The scalar
        // path is the template's only plain shared-memory store (one half at a time).
        Assert.Contains("cp.async.cg.shared.global", ptx);
        Assert.Equal(k % 8 != 0, Regex.IsMatch(ptx, @"st\.shared\.(u16|b16)"));
    }

    /// <summary>Every tile fast-run may pick compiles, and the PTX's shared tiles have that tile's sizes.</summary>
    [Theory]
    [InlineData(384, 96)]
    [InlineData(30, 36)]
    public void EveryTileCompilesToPtx(int n, int k)
    {
        ClangPtx.RequireCompiler();
        var kernel = FusedGemm.Specialize(n, k, Activation.Gelu, true, true);
        foreach (var tile in GemmTile.Candidates(n))
        {
            var ptx = ClangPtx.Compile(tile.Specialize(kernel.CudaSource, n), "sm_90", kernel.Name);
            Assert.Contains($".entry {kernel.Name}(", ptx);
            // The two shared tiles: 2 stages of BM rows and 2 of BN rows, 40 halves each.
            Assert.Matches($@"\.shared \.align 16 \.b8 [\w$]+\[{2 * tile.Rows * 40 * 2}\]", ptx);
            Assert.Matches($@"\.shared \.align 16 \.b8 [\w$]+\[{2 * tile.Columns * 40 * 2}\]", ptx);
        }
    }

    [Theory]
    [InlineData(null, "FUSION_KW")]
    [InlineData(13, "KW must be K rounded up to a multiple of 8")]
    [InlineData(24, "KW must be K rounded up to a multiple of 8")]
    public void RowStrideOtherThanKRoundedUpToEightIsRejected(int? kw, string error)
    {
        ClangPtx.RequireCompiler();
        var constants = new Dictionary<string, int>(FusedGemm.Constants(37, 13, Activation.None, false, false));
        if (kw is null) constants.Remove("KW");
        else constants["KW"] = kw.Value;
        var source = KernelTemplates.Specialize(FusedGemm.Pattern, "gemm_bad_stride", constants);
        var e = Assert.Throws<ClangPtxException>(() => ClangPtx.Compile(source, "sm_80", "gemm_bad_stride"));
        Assert.Contains(error, e.Diagnostics);
    }
}
