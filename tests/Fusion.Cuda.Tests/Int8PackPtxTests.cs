using System.Text.RegularExpressions;
using Fusion.Testing;

namespace Fusion.Cuda.Tests;

/// <summary>
/// generated.cuh packs int8 codes with cvt.pack.sat.s8.s32.b32 from compute capability 8.6 (two codes an instruction, the upper
/// bound 127 its saturation, the lower −127 one compare) and with the byte mask, shift and or before: clang-19's PTX of the 2- and
/// 4-code stores has one and two packs on sm_90 and none on sm_80, and the packing form is shorter. Their values are
/// Int8RoundingGpuTests' (every rounding edge, bit for bit against the CPU, in widths stored 8, 4 and 2 codes at a time).
/// </summary>
public sealed class Int8PackPtxTests
{
    private const string Source = """
        #include "generated.cuh"
        extern "C" __global__ void four(const float* __restrict__ x, signed char* __restrict__ y) { fusion_store_vec<4>(y + 4 * threadIdx.x, x + 4 * threadIdx.x); }
        extern "C" __global__ void two(const float* __restrict__ x, signed char* __restrict__ y) { fusion_store_vec<2>(y + 2 * threadIdx.x, x + 2 * threadIdx.x); }
        """;

    [Fact]
    public void CodesArePackedByTheHardwareFrom86()
    {
        ClangPtx.RequireCompiler();
        var hopper = ClangPtx.Compile(Source, "sm_90", "pack_i8_sm90");
        var ampere = ClangPtx.Compile(Source, "sm_80", "pack_i8_sm80");
        Assert.Equal(2, Packs(PtxText.Body(hopper, "four")));
        Assert.Equal(1, Packs(PtxText.Body(hopper, "two")));
        Assert.Equal(0, Packs(ampere));
        foreach (var entry in new[] { "four", "two" })
            Assert.True(PtxText.Instructions(PtxText.Body(hopper, entry)) < PtxText.Instructions(PtxText.Body(ampere, entry)),
                $"{entry}: {PtxText.Instructions(PtxText.Body(hopper, entry))} PTX instructions packed, {PtxText.Instructions(PtxText.Body(ampere, entry))} masked and shifted");
    }

    private static int Packs(string ptx) => Regex.Matches(ptx, @"\bcvt\.pack\.sat\.s8\.s32\.b32\b").Count;
}
