// The CUDA backend's unfused operators: elementwise maps, broadcast add, casts, a strided gather
// (permute, select, roll and the window/patch layouts), LayerNorm, Softmax and Mean. float and half
// variants of each; half values are computed in float32 and rounded once on store. LayerNorm, Mean and the gather
// also come in mixed variants (read one float type, write the other) so the precision pass can fold a cast into them.
#include "prelude.cuh"

// Layout operators describe their index maps with up to this many axes (after merging).
#define BACKEND_AXES 6
#define BACKEND_AXIS_PARAMS(p) int p##0, int p##1, int p##2, int p##3, int p##4, int p##5
#define BACKEND_AXIS_ARRAY(p) { p##0, p##1, p##2, p##3, p##4, p##5 }

FUSION_DEVICE float load_value(const float* p) { return *p; }
FUSION_DEVICE float load_value(const half* p) { return half_to_float(*p); }
FUSION_DEVICE void store_value(float* p, float v) { *p = v; }
FUSION_DEVICE void store_value(half* p, float v) { *p = float_to_half(v); }

FUSION_DEVICE long long grid_start() { return (long long)blockIdx.x * blockDim.x + threadIdx.x; }
FUSION_DEVICE long long grid_step() { return (long long)gridDim.x * blockDim.x; }

// e^x through the hardware 2^x (about 2 ulp).
FUSION_DEVICE float backend_exp(float x) { return fast_exp2(x * 1.4426950408889634f); }

FUSION_DEVICE float backend_sqrt(float x)
{
    float r;
    asm("sqrt.rn.f32 %0, %1;" : "=f"(r) : "f"(x));
    return r;
}

// erf from the Chebyshev fit of erfc (fractional error below 1.2e-7), Numerical Recipes' erfcc.
FUSION_DEVICE float backend_erf(float x)
{
    float z = x < 0.0f ? -x : x;
    float t = 1.0f / (1.0f + 0.5f * z);
    float poly = -1.26551223f + t * (1.00002368f + t * (0.37409196f + t * (0.09678418f + t * (-0.18628806f
        + t * (0.27886807f + t * (-1.13520398f + t * (1.48851587f + t * (-0.82215223f + t * 0.17087277f))))))));
    float erfc = t * backend_exp(-z * z + poly);
    return x >= 0.0f ? 1.0f - erfc : erfc - 1.0f;
}

// Unary maps: op 0 multiplies by scalar, 1 is GELU (erf form), 2 is ReLU.
template <typename T>
FUSION_DEVICE void unary(const T* x, T* y, long long n, int op, float scalar)
{
    for (long long i = grid_start(); i < n; i += grid_step())
    {
        float v = load_value(x + i);
        float r = op == 0 ? v * scalar : op == 1 ? 0.5f * v * (1.0f + backend_erf(v * 0.7071067811865476f)) : (v > 0.0f ? v : 0.0f);
        store_value(y + i, r);
    }
}

template <typename From, typename To>
FUSION_DEVICE void cast(const From* x, To* y, long long n)
{
    for (long long i = grid_start(); i < n; i += grid_step()) store_value(y + i, load_value(x + i));
}

// y[i] = a[offset_a(i)] + b[offset_b(i)]: i is split into the output's axes, each with a stride per input (0 broadcasts).
template <typename T>
FUSION_DEVICE void add(const T* a, const T* b, T* y, long long n, const int* dims, const int* sa, const int* sb)
{
    for (long long i = grid_start(); i < n; i += grid_step())
    {
        long long rest = i, oa = 0, ob = 0;
        for (int axis = BACKEND_AXES - 1; axis >= 0; axis--)
        {
            long long index = rest % dims[axis];
            rest /= dims[axis];
            oa += index * sa[axis];
            ob += index * sb[axis];
        }
        store_value(y + i, load_value(a + oa) + load_value(b + ob));
    }
}

// The offset of x that output element i reads: Σ ((index_axis − shift_axis) mod dim_axis)·stride_axis.
FUSION_DEVICE long long gather_offset(long long i, const int* dims, const int* strides, const int* shifts)
{
    long long rest = i, offset = 0;
    for (int axis = BACKEND_AXES - 1; axis >= 0; axis--)
    {
        int d = dims[axis];
        int index = (int)(rest % d) - shifts[axis];
        rest /= d;
        if (index < 0) index += d;
        else if (index >= d) index -= d;
        offset += (long long)index * strides[axis];
    }
    return offset;
}

// y[i] = x[gather_offset(i)]: permutes, selects, rolls and window layouts, moving the elements' bits.
template <typename T>
FUSION_DEVICE void gather(const T* x, T* y, long long n, const int* dims, const int* strides, const int* shifts)
{
    for (long long i = grid_start(); i < n; i += grid_step()) y[i] = x[gather_offset(i, dims, strides, shifts)];
}

// The same gather converting between float types as it moves (e.g. an f32 image into f16 patches).
template <typename From, typename To>
FUSION_DEVICE void gather_convert(const From* x, To* y, long long n, const int* dims, const int* strides, const int* shifts)
{
    for (long long i = grid_start(); i < n; i += grid_step()) store_value(y + i, load_value(x + gather_offset(i, dims, strides, shifts)));
}

// One warp per row: mean, then biased variance, then the normalized row, all in float32. x, the weight and bias
// (one type for both) and y may each be float or half.
template <typename TX, typename TW, typename TY>
FUSION_DEVICE void layer_norm(const TX* x, const TW* w, const TW* b, TY* y, int rows, int cols, float eps)
{
    int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= rows) return;
    const TX* xr = x + (long long)row * cols;
    TY* yr = y + (long long)row * cols;
    float sum = 0.0f;
    for (int c = lane; c < cols; c += 32) sum += load_value(xr + c);
    float mean = warp_sum(sum) / cols;
    float squares = 0.0f;
    for (int c = lane; c < cols; c += 32)
    {
        float d = load_value(xr + c) - mean;
        squares += d * d;
    }
    float inv = 1.0f / backend_sqrt(warp_sum(squares) / cols + eps);
    for (int c = lane; c < cols; c += 32)
        store_value(yr + c, (load_value(xr + c) - mean) * inv * load_value(w + c) + load_value(b + c));
}

// One warp per row: max, sum of exponentials, then exp(x − max) / sum.
template <typename T>
FUSION_DEVICE void softmax(const T* x, T* y, int rows, int cols)
{
    int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= rows) return;
    const T* xr = x + (long long)row * cols;
    T* yr = y + (long long)row * cols;
    float top = -3.402823466e38f;
    for (int c = lane; c < cols; c += 32) { float v = load_value(xr + c); top = v > top ? v : top; }
    top = warp_max(top);
    float sum = 0.0f;
    for (int c = lane; c < cols; c += 32) sum += backend_exp(load_value(xr + c) - top);
    float inv = 1.0f / warp_sum(sum);
    for (int c = lane; c < cols; c += 32) store_value(yr + c, backend_exp(load_value(xr + c) - top) * inv);
}

// x seen as [outer, reduce, inner]; one thread per output element [outer, inner], summed in float32.
template <typename TX, typename TY>
FUSION_DEVICE void mean(const TX* x, TY* y, int outer, int reduce, int inner)
{
    long long n = (long long)outer * inner;
    for (long long i = grid_start(); i < n; i += grid_step())
    {
        long long o = i / inner, j = i % inner;
        const TX* p = x + o * reduce * inner + j;
        float sum = 0.0f;
        for (int r = 0; r < reduce; r++) sum += load_value(p + (long long)r * inner);
        store_value(y + i, sum / reduce);
    }
}

#define BACKEND_FLOAT_KERNELS(T, suffix)                                                                                          \
    extern "C" __global__ void backend_unary_##suffix(const T* x, T* y, long long n, int op, float scalar)                     \
    {                                                                                                                             \
        unary(x, y, n, op, scalar);                                                                                               \
    }                                                                                                                             \
    extern "C" __global__ void backend_add_##suffix(const T* a, const T* b, T* y, long long n, BACKEND_AXIS_PARAMS(d),         \
        BACKEND_AXIS_PARAMS(sa), BACKEND_AXIS_PARAMS(sb))                                                                         \
    {                                                                                                                             \
        const int dims[BACKEND_AXES] = BACKEND_AXIS_ARRAY(d), stride_a[BACKEND_AXES] = BACKEND_AXIS_ARRAY(sa),                   \
                  stride_b[BACKEND_AXES] = BACKEND_AXIS_ARRAY(sb);                                                                \
        add(a, b, y, n, dims, stride_a, stride_b);                                                                                \
    }                                                                                                                             \
    extern "C" __global__ void backend_softmax_##suffix(const T* x, T* y, int rows, int cols) { softmax(x, y, rows, cols); }

BACKEND_FLOAT_KERNELS(float, f32)
BACKEND_FLOAT_KERNELS(half, f16)

// backend_layer_norm_<x>_<weight>_<y>: every combination of float types.
#define BACKEND_LAYER_NORM_KERNEL(TX, TW, TY, name)                                                                               \
    extern "C" __global__ void backend_layer_norm_##name(const TX* x, const TW* w, const TW* b, TY* y, int rows, int cols, float eps) \
    {                                                                                                                             \
        layer_norm(x, w, b, y, rows, cols, eps);                                                                                  \
    }

BACKEND_LAYER_NORM_KERNEL(float, float, float, f32_f32_f32)
BACKEND_LAYER_NORM_KERNEL(float, float, half, f32_f32_f16)
BACKEND_LAYER_NORM_KERNEL(float, half, float, f32_f16_f32)
BACKEND_LAYER_NORM_KERNEL(float, half, half, f32_f16_f16)
BACKEND_LAYER_NORM_KERNEL(half, float, float, f16_f32_f32)
BACKEND_LAYER_NORM_KERNEL(half, float, half, f16_f32_f16)
BACKEND_LAYER_NORM_KERNEL(half, half, float, f16_f16_f32)
BACKEND_LAYER_NORM_KERNEL(half, half, half, f16_f16_f16)

// backend_mean_<x>_<y>: every combination of float types.
#define BACKEND_MEAN_KERNEL(TX, TY, name)                                                                                         \
    extern "C" __global__ void backend_mean_##name(const TX* x, TY* y, int outer, int reduce, int inner)                       \
    {                                                                                                                             \
        mean(x, y, outer, reduce, inner);                                                                                         \
    }

BACKEND_MEAN_KERNEL(float, float, f32_f32)
BACKEND_MEAN_KERNEL(float, half, f32_f16)
BACKEND_MEAN_KERNEL(half, float, f16_f32)
BACKEND_MEAN_KERNEL(half, half, f16_f16)

extern "C" __global__ void backend_cast_f32_f16(const float* x, half* y, long long n) { cast(x, y, n); }
extern "C" __global__ void backend_cast_f16_f32(const half* x, float* y, long long n) { cast(x, y, n); }

// The gather only moves elements, so it works on their bits: b16 for half, b32 for float.
#define BACKEND_GATHER_KERNEL(T, suffix)                                                                                          \
    extern "C" __global__ void backend_gather_##suffix(const T* x, T* y, long long n, BACKEND_AXIS_PARAMS(d),                  \
        BACKEND_AXIS_PARAMS(s), BACKEND_AXIS_PARAMS(h))                                                                           \
    {                                                                                                                             \
        const int dims[BACKEND_AXES] = BACKEND_AXIS_ARRAY(d), strides[BACKEND_AXES] = BACKEND_AXIS_ARRAY(s),                     \
                  shifts[BACKEND_AXES] = BACKEND_AXIS_ARRAY(h);                                                                   \
        gather(x, y, n, dims, strides, shifts);                                                                                   \
    }

BACKEND_GATHER_KERNEL(unsigned short, b16)
BACKEND_GATHER_KERNEL(unsigned int, b32)

// Gathers that convert: backend_gather_<from>_<to>.
#define BACKEND_GATHER_CONVERT_KERNEL(From, To, name)                                                                             \
    extern "C" __global__ void backend_gather_##name(const From* x, To* y, long long n, BACKEND_AXIS_PARAMS(d),                \
        BACKEND_AXIS_PARAMS(s), BACKEND_AXIS_PARAMS(h))                                                                           \
    {                                                                                                                             \
        const int dims[BACKEND_AXES] = BACKEND_AXIS_ARRAY(d), strides[BACKEND_AXES] = BACKEND_AXIS_ARRAY(s),                     \
                  shifts[BACKEND_AXES] = BACKEND_AXIS_ARRAY(h);                                                                   \
        gather_convert(x, y, n, dims, strides, shifts);                                                                           \
    }

BACKEND_GATHER_CONVERT_KERNEL(float, half, f32_f16)
BACKEND_GATHER_CONVERT_KERNEL(half, float, f16_f32)
