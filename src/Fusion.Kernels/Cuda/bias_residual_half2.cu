// out[r, c] = (x[r, c] + bias[c]) + residual[r, c] for a row-major fp16 tensor of `channels`
// columns, channels % 8 == 0. Each thread moves 16 bytes of every operand per vector, so loads and
// stores are full 128-bit transactions. A thread handles FUSION_BR_VECTORS vectors, a block's width
// apart (so each warp access stays coalesced), and issues all their loads before the first add:
// more bytes in flight per thread is what brings a streaming kernel close to copy bandwidth.
#include "prelude.cuh"

#define FUSION_BR_VECTORS 4

FUSION_DEVICE half8 add3_half8(half8 a, half8 b, half8 c)
{
    half8 o;
    o.x = hadd2(hadd2(make_half2_bits(a.x), make_half2_bits(b.x)), make_half2_bits(c.x)).bits;
    o.y = hadd2(hadd2(make_half2_bits(a.y), make_half2_bits(b.y)), make_half2_bits(c.y)).bits;
    o.z = hadd2(hadd2(make_half2_bits(a.z), make_half2_bits(b.z)), make_half2_bits(c.z)).bits;
    o.w = hadd2(hadd2(make_half2_bits(a.w), make_half2_bits(b.w)), make_half2_bits(c.w)).bits;
    return o;
}

extern "C" __global__ void fusion_bias_residual_half2(const half* __restrict__ x, const half* __restrict__ bias,
    const half* __restrict__ residual, half* __restrict__ out, int vectors, int channels)
{
    const int vectorsPerRow = channels / 8;
    const int first = blockIdx.x * blockDim.x * FUSION_BR_VECTORS + threadIdx.x;
    half8 xv[FUSION_BR_VECTORS], rv[FUSION_BR_VECTORS], bv[FUSION_BR_VECTORS];

#pragma unroll
    for (int k = 0; k < FUSION_BR_VECTORS; k++)
    {
        const int v = first + k * blockDim.x;
        if (v < vectors)
        {
            xv[k] = load_half8(x + v * 8);
            rv[k] = load_half8(residual + v * 8);
            bv[k] = load_half8(bias + (v % vectorsPerRow) * 8);
        }
    }
#pragma unroll
    for (int k = 0; k < FUSION_BR_VECTORS; k++)
    {
        const int v = first + k * blockDim.x;
        if (v < vectors) store_half8(out + v * 8, add3_half8(xv[k], bv[k], rv[k]));
    }
}
