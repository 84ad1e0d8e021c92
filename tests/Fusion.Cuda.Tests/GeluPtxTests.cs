using System.Text.RegularExpressions;
using Fusion.Testing;

namespace Fusion.Cuda.Tests;

/// <summary>
/// The loop IR's one Gelu operation prints as the prelude's fusion_gelu_op, by default fusion_gelu_erf, whose constants take GELU's ½ and 1/√2: clang-19's PTX
/// of it must stay one rcp.approx and one ex2.approx and fewer instructions than the six-step chain it replaced (½·x, x·√½, erf,
/// + 1, the product) spelled with the same erf in the same file. Its values are the GPU tests' (GeneratedKernelGpuTests, the
/// int8 GELU GEMMs) against erf in double.
/// </summary>
public sealed class GeluPtxTests
{
    private const string Source = """
        #include "prelude.cuh"
        extern "C" __global__ void folded(const float* __restrict__ x, float* __restrict__ y) { y[threadIdx.x] = fusion_gelu_erf(x[threadIdx.x]); }
        extern "C" __global__ void chained(const float* __restrict__ x, float* __restrict__ y)
        {
            const float v = x[threadIdx.x];
            y[threadIdx.x] = (v * 0.5f) * (fusion_erf(v * 0.70710678118654752f) + 1.0f);
        }
        """;

    [Fact]
    public void TheFoldedGeluIsShorterThanTheChain()
    {
        ClangPtx.RequireCompiler();
        var ptx = ClangPtx.Compile(Source, "sm_90", "gelu_forms");
        var folded = PtxText.Body(ptx, "folded");
        var chained = PtxText.Body(ptx, "chained");
        Assert.Single(Regex.Matches(folded, @"\brcp\.approx"));
        Assert.Single(Regex.Matches(folded, @"\bex2\.approx"));
        int f = PtxText.Instructions(folded), c = PtxText.Instructions(chained);
        Assert.True(f < c, $"fusion_gelu_erf: {f} PTX instructions, the chain it replaced {c}\n{folded}");
    }

    /// <summary>
    /// The printed gelu (fusion_gelu_op) is the erf form unless the kernel is compiled with FUSION_GELU_TANH=1 (the GEMM template
    /// under FUSION_GEMM_GELU=tanh, <see cref="Gemm.EpilogueGelu"/>): then one tanh.approx and no reciprocal or exponential, in fewer
    /// instructions than the erf form.
    /// </summary>
    [Fact]
    public void ThePrintedGeluTakesTheTanhFormWhereTheKernelIsCompiledForIt()
    {
        ClangPtx.RequireCompiler();
        const string Kernel = """
            #include "prelude.cuh"
            extern "C" __global__ void op(const float* __restrict__ x, float* __restrict__ y) { y[threadIdx.x] = fusion_gelu_op(x[threadIdx.x]); }
            """;
        var erf = PtxText.Body(ClangPtx.Compile(Kernel, "sm_90", "gelu_op_erf"), "op");
        var tanh = PtxText.Body(ClangPtx.Compile("#define FUSION_GELU_TANH 1\n" + Kernel, "sm_90", "gelu_op_tanh"), "op");
        Assert.Single(Regex.Matches(erf, @"\bex2\.approx"));
        Assert.DoesNotContain("tanh.approx", erf);
        Assert.Single(Regex.Matches(tanh, @"\btanh\.approx"));
        Assert.DoesNotContain("ex2.approx", tanh);
        Assert.DoesNotContain("rcp.approx", tanh);
        Assert.True(PtxText.Instructions(tanh) < PtxText.Instructions(erf), $"tanh form {PtxText.Instructions(tanh)} PTX instructions, erf form {PtxText.Instructions(erf)}\n{tanh}");
    }

    /// <summary>
    /// The loop IR's gelu_tanh operation (what quantized plans run after an int8 product) prints as fusion_gelu_tanh_sigmoid:
    /// one ex2.approx and one rcp.approx, no tanh.approx (whose 2⁻¹¹ would put the GPU outside float32 of the CPU's same form) and no
    /// branch, in fewer instructions than the erf form and no more than the tanh.approx form.
    /// </summary>
    [Fact]
    public void TheTanhFormOperationIsOneExp2AndOneReciprocal()
    {
        ClangPtx.RequireCompiler();
        const string Kernel = """
            #include "prelude.cuh"
            extern "C" __global__ void sigmoid_form(const float* __restrict__ x, float* __restrict__ y) { y[threadIdx.x] = fusion_gelu_tanh_sigmoid(x[threadIdx.x]); }
            extern "C" __global__ void erf_form(const float* __restrict__ x, float* __restrict__ y) { y[threadIdx.x] = fusion_gelu_erf(x[threadIdx.x]); }
            extern "C" __global__ void approx_form(const float* __restrict__ x, float* __restrict__ y) { y[threadIdx.x] = fusion_gelu_tanh(x[threadIdx.x]); }
            """;
        var ptx = ClangPtx.Compile(Kernel, "sm_90", "gelu_tanh_sigmoid");
        var sigmoid = PtxText.Body(ptx, "sigmoid_form");
        Assert.Single(Regex.Matches(sigmoid, @"\bex2\.approx"));
        Assert.Single(Regex.Matches(sigmoid, @"\brcp\.approx"));
        Assert.DoesNotContain("tanh.approx", sigmoid);
        Assert.DoesNotMatch(@"\bbra\b", sigmoid);
        int t = PtxText.Instructions(sigmoid), e = PtxText.Instructions(PtxText.Body(ptx, "erf_form")), a = PtxText.Instructions(PtxText.Body(ptx, "approx_form"));
        Assert.True(t < e, $"fusion_gelu_tanh_sigmoid: {t} PTX instructions, fusion_gelu_erf {e}\n{sigmoid}");
        // No longer than the tanh.approx form (18 each, kernel included, clang-19 2026-12-07; erf's 27): the exponent's scale is in the constants.
        Assert.True(t <= a, $"fusion_gelu_tanh_sigmoid: {t} PTX instructions, the tanh.approx form {a}\n{sigmoid}");
    }
}
