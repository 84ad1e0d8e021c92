// out[r, c] = (x[r, c] + bias[c]) + residual[r, c] for a row-major fp16 tensor of `channels`
// columns, channels % 8 == 0. Each thread moves 16 bytes of every operand per step, so loads and
// stores are full 128-bit transactions and the kernel runs at memory bandwidth.
#include "prelude.cuh"

extern "C" __global__ void fusion_bias_residual_half2(const half* __restrict__ x, const half* __restrict__ bias,
    const half* __restrict__ residual, half* __restrict__ out, int vectors, int channels)
{
    const int vectorsPerRow = channels / 8;
    for (int v = blockIdx.x * blockDim.x + threadIdx.x; v < vectors; v += gridDim.x * blockDim.x)
    {
        const int e = v * 8;
        const half8 xv = load_half8(x + e);
        const half8 rv = load_half8(residual + e);
        const half8 bv = load_half8(bias + (v % vectorsPerRow) * 8);
        half8 o;
        o.x = hadd2(hadd2(make_half2_bits(xv.x), make_half2_bits(bv.x)), make_half2_bits(rv.x)).bits;
        o.y = hadd2(hadd2(make_half2_bits(xv.y), make_half2_bits(bv.y)), make_half2_bits(rv.y)).bits;
        o.z = hadd2(hadd2(make_half2_bits(xv.z), make_half2_bits(bv.z)), make_half2_bits(rv.z)).bits;
        o.w = hadd2(hadd2(make_half2_bits(xv.w), make_half2_bits(bv.w)), make_half2_bits(rv.w)).bits;
        store_half8(out + e, o);
    }
}
