#!/usr/bin/env python3
"""Variants of the int8 plan's requantizing GELU GEMMs for bench/cuda/int8_epilogue_probe.cu.

    int8_epilogue_probe.py GENERATED_CS OUT

GENERATED_CS is the SwinTiny sample's generated source (SwinTiny.Model.SwinTransformerTiny.Fusion.g.cs), which carries every
kernel of the int8 plan as Fusion specializes it (the template's text, src/Fusion.Kernels/Cuda/Templates/gemm.cut, follows). OUT receives, for each of Swin-T's int8 fc1 GEMMs (dequantize · bias · GELU ·
requantize to int8: gemm_mul_add_gelu_tanh_mul_cast_nN_kK_i8, gelu_mul_cast before the tanh form), files TAG_VARIANT.cu:
  ref       the kernel as Fusion compiles it now (the printed epilogue; four columns a lane where the template and epilogue offer it);
  pairs     ref with FUSION_GEMM_PAIRS defined, as Fusion compiles it with FUSION_GEMM_QUADS=off (where the template knows it);
  fold      the same GELU (erf by A&S 7.1.26) written by hand with its constants folded: erf's argument scale into its two uses,
            the 0.5 and the output scale into one multiplier, the last multiply-add as one fma;
  tanh      GELU in the tanh form (what cuBLASLt's GELU epilogue computes), one MUFU.TANH;
  quad      the printed math, but the staged accumulators read back 4 columns a lane (8 lanes a row, 4 codes one 32-bit store);
  quadfold, quadtanh  the two combined;
  magic     (K <= 260 only) the int32 sums turned into floats without a conversion: the accumulators start at 0x4B400000 (the bits of
            1.5 * 2^23) so that each sum's bits are those of 1.5 * 2^23 + sum, and one subtraction gives the float (exact for |sum| < 2^22);
  all       quad + tanh + magic (quad + tanh where K > 260);
  quadh2    quad with the tanh form in half2 arithmetic (dequantize and bias in float, then two columns an instruction: tanh.approx.f16x2),
            the codes from the halves without a conversion (clamped to ±127, + 1536 puts the rounded integer in the low byte, one
            prmt gathers four codes);
  f2i       ref with every code made without a conversion (generated_f2i.cuh): x + 1.5*2^23 (add.rn) leaves rint(x) in the low
            mantissa bits, an integer clamp of the word saturates (2^22 and beyond, infinities fall outside on their own side), a
            select keeps NaN at code 0, prmt gathers the low bytes: the codes of cvt.rni.s32.f32 + cvt.pack.sat, off the 16-a-clock pipe;
  f2imagic  (K <= 260 only) f2i and magic: neither conversion; allf2i: all and f2i;
  persist   (K <= 256, N a multiple of 96) the printed epilogue on the persistent kernel of bench/cuda/persistent_gemm.cut: a
            slab of w's columns resident in shared memory, each warp walking 16-row tiles of x with the next tile's copy in
            flight; the template's product and read-back, so the same codes as ref; persisttanh: the same with FUSION_GELU_TANH;
            persisth2, persistbare: the kernel with quadh2's and quadbare's epilogues;
  mb4       ref with four blocks of 256 an SM (64 registers a thread) where the thin tile asks for three; quadtanhmb4 likewise;
  quadbare  quad with no GELU: the dequantized sum times the output multiplier, rounded (the template's own cost: main loop, staging,
            conversions and stores).
plus prelude.cuh and generated.cuh. The harness compares every variant's codes with ref's (exact for quad and magic).
"""
import argparse, os, re, shutil, sys

TEMPLATE_MARKER = "// gemm: out = epilogue("
EPILOGUE_MARKER = "// The generated epilogue ("

READ_BACK_START = "            const int c = col0 + warp_col + chunk * kEpiCols + pair_col;\n"
READ_BACK_END = "#ifdef FUSION_EPILOGUE_POOLED\n            // The lanes of one column"

QUAD_READ_BACK = """            {
                constexpr int kL = kEpiCols / 4;  // 8 lanes a row, 4 columns a lane
                const int vr = lane / kL, vc = 4 * (lane % kL);
                const int c = col0 + warp_col + chunk * kEpiCols + vc;
                fusion_epilogue_columns4 columns{};
                if (c < FUSION_N) columns = fusion_epilogue_load_columns4(c FUSION_EPILOGUE_ARGS);
#pragma unroll
                for (int i = 0; i < 16 / (32 / kL); ++i)
                {
                    const int rl = i * (32 / kL) + vr;
                    const int r = row0 + warp_row + mi * 16 + rl;
                    if (r >= m || c >= FUSION_N) continue;
                    const fusion_f4 v = *reinterpret_cast<const fusion_f4*>(&stage[rl][vc]);
                    fusion_epilogue_row4(r, c, v, columns FUSION_EPILOGUE_ARGS);
                }
            }
"""

# The hand-written epilogue: e1 per-channel scale, e2 bias, e3 the output's multiplier (1 / its scale), e4 the int8 codes. MATH 0
# is the printed chain (mul, add, ·0.5, ·√½, erf, +1, mul, ·s, round), 1 the folded erf, 2 the tanh form. Both entry points: the
# pair one the template calls as shipped, the quad one the quad read-back calls.
HAND_EPILOGUE = r"""// Hand-written epilogue (int8_epilogue_probe.py), FUSION_PROBE_MATH = %(math)d.
#define FUSION_EPILOGUE_PARAMS , const float* __restrict__ e1, const float* __restrict__ e2, const float* __restrict__ e3, signed char* __restrict__ e4
#define FUSION_EPILOGUE_ARGS , e1, e2, e3, e4
#define FUSION_PROBE_MATH %(math)d

FUSION_DEVICE float probe_copysign(float y, float x)
{
    float r;
    asm("{ .reg .b32 a, b; mov.b32 a, %%1; mov.b32 b, %%2; and.b32 a, a, 0x7FFFFFFF; and.b32 b, b, 0x80000000; or.b32 a, a, b; mov.b32 %%0, a; }"
        : "=f"(r) : "f"(y), "f"(x));
    return r;
}

FUSION_DEVICE float probe_fma(float a, float b, float c)
{
    float r;
    asm("fma.rn.f32 %%0, %%1, %%2, %%3;" : "=f"(r) : "f"(a), "f"(b), "f"(c));
    return r;
}

// The value before the int8 rounding, from the dequantized and biased y and the output multiplier os.
FUSION_DEVICE float probe_value(float acc, float s, float b, float os)
{
    const float y = acc * s + b;
#if FUSION_PROBE_MATH == 0
    const float x6 = y * 0.5f;
    const float x8 = y * 0.70710677f;
    const float x9 = fusion_erf(x8);
    const float x11 = x9 + 1.0f;
    const float x12 = x6 * x11;
    return x12 * os;
#elif FUSION_PROBE_MATH == 1
    // erf(y·√½) with √½ folded into its constants: t = 1 / (1 + p·√½·|y|), e^(−y²/2) = 2^(−y²·log2(e)/2).
    const float ay = (y < 0.0f ? -y : y);
    const float t = fast_rcp(1.0f + 0.23164189f * ay);
    const float poly = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
    const float e = 1.0f - poly * fast_exp2(ay * ay * -0.7213475204444817f);
    const float h = y * (0.5f * os);
    return probe_fma(h, probe_copysign(e, y), h);
#elif FUSION_PROBE_MATH == 4
    (void)b;
    return acc * s * os;
#else
    // 0.5·y·(1 + tanh(√(2/π)·(y + 0.044715·y³))) (FUSION_PROBE_MATH 2; 3 takes it where columns come in pairs).
    const float u = y * probe_fma(y * y, 0.035677408136300125f, 0.7978845608028654f);
    float t;
    asm("tanh.approx.f32 %%0, %%1;" : "=f"(t) : "f"(u));
    const float h = y * (0.5f * os);
    return probe_fma(h, t, h);
#endif
}

#define FUSION_EPILOGUE_COLUMNS 1
struct fusion_epilogue_columns { float s[2]; float b[2]; float os; };

FUSION_DEVICE fusion_epilogue_columns fusion_epilogue_load_columns(int col, bool pair FUSION_EPILOGUE_PARAMS)
{
    fusion_epilogue_columns c{};
    c.os = e3[0];
    for (int e = 0; e < (pair ? 2 : 1); e++) { c.s[e] = e1[col + e]; c.b[e] = e2[col + e]; }
    return c;
}

FUSION_DEVICE void fusion_epilogue_row(long long row, int col, float acc0, float acc1, bool pair, long long N, const fusion_epilogue_columns& c FUSION_EPILOGUE_PARAMS)
{
    (void)N;
    const float acc[2] = {acc0, acc1};
    float v[2];
    for (int e = 0; e < 2; e++) v[e] = probe_value(acc[e], c.s[e], c.b[e], c.os);
    if (pair) fusion_store_vec<2>(e4 + (FUSION_N * row + col), v);
    else fusion_store(e4 + (FUSION_N * row + col), v[0]);
}

FUSION_DEVICE void fusion_epilogue(long long row, int col, float acc0, float acc1, bool pair, long long N FUSION_EPILOGUE_PARAMS)
{
    fusion_epilogue_row(row, col, acc0, acc1, pair, N, fusion_epilogue_load_columns(col, pair FUSION_EPILOGUE_ARGS) FUSION_EPILOGUE_ARGS);
}

// Four columns a lane (FUSION_N a multiple of 4 in this probe).
struct fusion_epilogue_columns4 { float s[4]; float b[4]; float os; };

FUSION_DEVICE fusion_epilogue_columns4 fusion_epilogue_load_columns4(int col FUSION_EPILOGUE_PARAMS)
{
    fusion_epilogue_columns4 c{};
    c.os = e3[0];
    fusion_load_vec<4>(e1 + col, c.s);
    fusion_load_vec<4>(e2 + col, c.b);
    return c;
}

#if FUSION_PROBE_MATH == 3
FUSION_DEVICE half2 probe_hmin2(half2 a, half2 b)
{
    half2 r;
    asm("min.f16x2 %%0, %%1, %%2;" : "=r"(r.bits) : "r"(a.bits), "r"(b.bits));
    return r;
}

FUSION_DEVICE half2 probe_tanh2(half2 a)
{
    half2 r;
    asm("tanh.approx.f16x2 %%0, %%1;" : "=r"(r.bits) : "r"(a.bits));
    return r;
}

// GELU's tanh form on two halves, times the output multiplier (hs = 0.5·os in both halves), clamped to ±127 and moved to
// 1536 + v, whose half's low byte is the code of the rounded v (ties to even: the add rounds).
FUSION_DEVICE unsigned probe_codes2(half2 y, half2 hs)
{
    const half2 k0 = make_half2_bits(0x3A623A62u);  // 0.7979 (√(2/π)) in both halves
    const half2 k1 = make_half2_bits(0x28912891u);  // 0.03568 (0.044715·√(2/π))
    const half2 u = hmul2(y, hfma2(hmul2(y, y), k1, k0));
    const half2 h = hmul2(y, hs);
    half2 v = hfma2(h, probe_tanh2(u), h);
    v = probe_hmin2(hmax2(v, make_half2_bits(0xD7F0D7F0u)), make_half2_bits(0x57F057F0u));  // ±127
    return hadd2(v, make_half2_bits(0x66006600u)).bits;                                    // + 1536
}

FUSION_DEVICE void fusion_epilogue_row4(long long row, int col, fusion_f4 acc, const fusion_epilogue_columns4& c FUSION_EPILOGUE_PARAMS)
{
    const half2 hs = floats_to_half2(0.5f * c.os, 0.5f * c.os);
    const unsigned lo = probe_codes2(floats_to_half2(acc.x * c.s[0] + c.b[0], acc.y * c.s[1] + c.b[1]), hs);
    const unsigned hi = probe_codes2(floats_to_half2(acc.z * c.s[2] + c.b[2], acc.w * c.s[3] + c.b[3]), hs);
    unsigned word;
    asm("prmt.b32 %%0, %%1, %%2, 0x6420;" : "=r"(word) : "r"(lo), "r"(hi));
    *reinterpret_cast<unsigned*>(e4 + (FUSION_N * row + col)) = word;
}
#else
FUSION_DEVICE void fusion_epilogue_row4(long long row, int col, fusion_f4 acc, const fusion_epilogue_columns4& c FUSION_EPILOGUE_PARAMS)
{
    const float a[4] = {acc.x, acc.y, acc.z, acc.w};
    float v[4];
#pragma unroll
    for (int e = 0; e < 4; e++) v[e] = probe_value(a[e], c.s[e], c.b[e], c.os);
    fusion_store_vec<4>(e4 + (FUSION_N * row + col), v);
}
#endif

"""

# generated.cuh's packing of codes, replaced for the f2i variants (one definition for every architecture).
PACK_START = "#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 860\nFUSION_DEVICE int fusion_code_i8_above_min"
PACK_END = "FUSION_DEVICE unsigned fusion_pack_i8x4("
PACK_F2I = r'''// The code's word 0x4B400000 + code: x + 1.5·2^23 rounds x to an integer (ties to even) into the low mantissa bits while
// |x| < 2^22; larger |x| and ±∞ land beyond the clamp's bounds on their own side; NaN is sent to code 0 by a select.
FUSION_DEVICE int fusion_code_i8_word(float x)
{
    float r;
    asm("add.rn.f32 %0, %1, 0f4B400000;" : "=f"(r) : "f"(x));
    int b;
    asm("mov.b32 %0, %1;" : "=r"(b) : "f"(r));
    b = b < 0x4B3FFF81 ? 0x4B3FFF81 : b > 0x4B40007F ? 0x4B40007F : b;
    return x == x ? b : 0x4B400000;
}

FUSION_DEVICE unsigned fusion_pack_i8x2(const float* v, unsigned high)
{
    unsigned r;
    asm("prmt.b32 %0, %1, %2, 0x0040;" : "=r"(r) : "r"(fusion_code_i8_word(v[0])), "r"(fusion_code_i8_word(v[1])));
    return (r & 0xFFFFu) | (high << 16);  // prmt's selector 0x0040 repeats byte 0 of the first word in bytes 2 and 3
}

'''

HERE = os.path.dirname(os.path.abspath(__file__))
CUDA = os.path.join(HERE, "..", "..", "src", "Fusion.Kernels", "Cuda")

# The persistent resident-weight kernel (int8 or fp16 by FUSION_GEMM_S8), shared with gemm_resident_probe.py.
PERSIST_KERNEL = open(os.path.join(HERE, "persistent_gemm.cut")).read()

MAGIC_FLOAT = "FUSION_DEVICE float gemm_acc_float(int v) { return int_to_float_rn(v); }"
MAGIC_FLOAT_NEW = ("// The sums started at 0x4B400000: their bits are those of 1.5·2^23 + sum (exact for |sum| < 2^22).\n"
                   "FUSION_DEVICE float gemm_acc_float(int v) { float f; asm(\"mov.b32 %0, %1;\" : \"=f\"(f) : \"r\"(v)); return f - 12582912.0f; }")
ACC_ZERO = "for (int j = 0; j < 4; ++j) acc[mi][ni][j] = 0;"
ACC_MAGIC = "for (int j = 0; j < 4; ++j) acc[mi][ni][j] = 0x4B400000;"


def kernels(generated, template, name=r"gemm_mul_add_gelu(?:_tanh)?_mul_cast_n(\d+)_k(\d+)_i8"):
    """
    The GEMMs whose name matches NAME (two groups: N and K; by default the requantizing GELU GEMMs) with their CUDA sources in the
    generated C# (the specialization, then the template's text): name → (N, K, source).
    """
    text = open(generated).read()
    found = {}
    for m in re.finditer(r'new global::Fusion\.GemmKernel\(\s*"(' + name + r')".*?cudaSource: @"(.*?)" \+ TemplateText_gemm,', text, re.S):
        kernel, n, k, src = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4).replace('""', '"') + template
        found.setdefault(kernel, (n, k, src))
    return found


def arguments_and_headers(description):
    """A probe's two arguments (the generated C#, the output folder), the folder made and the shipped headers copied into it."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("generated")
    ap.add_argument("out")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for h in ("prelude.cuh", "generated.cuh"):
        shutil.copy(os.path.join(CUDA, h), a.out)
    return a


def main():
    a = arguments_and_headers(__doc__.splitlines()[0])
    # The f2i forms where generated.cuh packs codes by conversion (as shipped: cvt.rni and cvt.pack).
    generated = open(os.path.join(a.out, "generated.cuh")).read()
    converts = PACK_START in generated and PACK_END in generated
    if converts:
        open(os.path.join(a.out, "generated_f2i.cuh"), "w").write(
            generated[: generated.index(PACK_START)] + PACK_F2I + generated[generated.index(PACK_END):])
    f2i = lambda t: t.replace('#include "generated.cuh"', '#include "generated_f2i.cuh"', 1)
    found = kernels(a.generated, open(os.path.join(CUDA, "Templates", "gemm.cut")).read())
    if not found:
        sys.exit(f"{a.generated}: no gemm_mul_add_gelu[_tanh]_mul_cast_*_i8 kernel")
    for name, (n, k, src) in sorted(found.items(), key=lambda kv: kv[1][1]):
        tag = f"n{n}_k{k}"
        head, template = src[: src.index(EPILOGUE_MARKER)], src[src.index(TEMPLATE_MARKER):]
        if READ_BACK_START not in template or READ_BACK_END not in template:
            sys.exit(f"{name}: the template's read-back, conversion or accumulator start changed; update {__file__}")
        start = template.index(READ_BACK_START)
        end = template.index(READ_BACK_END)
        quad_template = template[:start] + QUAD_READ_BACK + template[end:]
        magic = lambda t: t.replace(MAGIC_FLOAT, MAGIC_FLOAT_NEW).replace(ACC_ZERO, ACC_MAGIC)
        hand = lambda math: HAND_EPILOGUE % {"math": math}
        variants = {
            "ref": src,
            "fold": head + hand(1) + template,
            "tanh": head + hand(2) + template,
            "quad": head + hand(0) + quad_template,
            "quadfold": head + hand(1) + quad_template,
            "quadtanh": head + hand(2) + quad_template,
            "quadh2": head + hand(3) + quad_template,
            "quadbare": head + hand(4) + quad_template,
        }
        # Four blocks of 256 an SM where the thin tile asks for three (64 registers a thread instead of 80).
        if "768 / kThreads" in template:
            variants["mb4"] = src.replace("768 / kThreads", "1024 / kThreads")
            variants["quadtanhmb4"] = (head + hand(2) + quad_template).replace("768 / kThreads", "1024 / kThreads")
        if converts:
            variants["f2i"] = f2i(src)
        if k <= 256 and k % 32 == 0 and n % 96 == 0:
            printed = src[: src.index(TEMPLATE_MARKER)]  # the specialization and its printed epilogue
            variants["persist"] = printed + PERSIST_KERNEL
            variants["persisttanh"] = "#define FUSION_GELU_TANH 1\n" + printed + PERSIST_KERNEL
            hand_row4 = "#define PERSIST_ROW4(r, c, v, columns) fusion_epilogue_row4(r, c, v, columns FUSION_EPILOGUE_ARGS)\n"
            variants["persisth2"] = head + hand(3) + hand_row4 + PERSIST_KERNEL
            variants["persistbare"] = head + hand(4) + hand_row4 + PERSIST_KERNEL
        if "FUSION_GEMM_PAIRS" in template:
            variants["pairs"] = src.replace("#define FUSION_KERNEL ", "#define FUSION_GEMM_PAIRS 1\n#define FUSION_KERNEL ", 1)
        if k * 127 * 127 < (1 << 22) and MAGIC_FLOAT in template and ACC_ZERO in template:
            variants["magic"] = magic(src)
            variants["all"] = head + hand(2) + magic(quad_template)
            if converts:
                variants["f2imagic"] = f2i(magic(src))
                variants["allf2i"] = f2i(variants["all"])
        for v, text in variants.items():
            open(os.path.join(a.out, f"{tag}_{v}.cu"), "w").write(text)
        print(name, tag, " ".join(variants))


if __name__ == "__main__":
    main()
