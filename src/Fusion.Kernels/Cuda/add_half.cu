// out = a + b elementwise over n halves, added in float32 and rounded once. Used where a library call
// cannot fuse a residual (cuBLASLt with a RELU/GELU epilogue applies the activation after its C operand).
#include "prelude.cuh"

extern "C" __global__ void fusion_add_half(const half* __restrict__ a, const half* __restrict__ b, half* __restrict__ out, long long n)
{
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        out[i] = float_to_half(half_to_float(a[i]) + half_to_float(b[i]));
}
