namespace Fusion;

/// <summary>
/// The unfused operator set every backend implements, one method per operator of <see cref="F"/>.
/// Each method checks its operands' shapes and dtypes, allocates and returns a new tensor that
/// the caller owns (and must dispose), and never disposes its inputs. Float16 tensors are
/// computed in float32 and rounded once on store.
/// </summary>
public interface IBackend
{
    /// <summary>A short name for messages ("cpu", "cuda:0").</summary>
    string Name { get; }

    DeviceKind Device { get; }

    /// <summary>The backend's copy of a parameter in <paramref name="dtype"/>; owned by the backend (do not dispose), refreshed when the parameter changes.</summary>
    Tensor Param(Parameter parameter, DType dtype);

    /// <summary>Copies a host tensor to this backend (a new tensor even on the CPU).</summary>
    Tensor FromHost(CpuTensor host);

    /// <summary>Copies a tensor of this backend to the host.</summary>
    CpuTensor ToHost(Tensor tensor);

    /// <summary>Converts element type.</summary>
    Tensor Cast(Tensor x, DType dtype);

    /// <summary>x [..., K] · weightᵀ [N, K] + bias [N] → [..., N].</summary>
    Tensor Linear(Tensor x, Tensor weight, Tensor? bias);

    /// <summary>a [..., M, K] · b [..., K, N] → [..., M, N] (b [..., N, K] when <paramref name="transposeB"/>); b's leading dims equal a's or are absent.</summary>
    Tensor MatMul(Tensor a, Tensor b, bool transposeB);

    /// <summary>Elementwise a + b with NumPy broadcasting (trailing dims aligned; size-1 or missing dims broadcast).</summary>
    Tensor Add(Tensor a, Tensor b);

    /// <summary>x · scalar.</summary>
    Tensor Mul(Tensor x, float scalar);

    /// <summary>GELU, exact erf form: x·½·(1 + erf(x/√2)).</summary>
    Tensor Gelu(Tensor x);

    Tensor Relu(Tensor x);

    /// <summary>Normalizes over the last axis: (x − mean)/√(var + eps)·weight + bias, biased variance.</summary>
    Tensor LayerNorm(Tensor x, Tensor weight, Tensor bias, float eps);

    /// <summary>Softmax over the last axis, max-subtracted.</summary>
    Tensor Softmax(Tensor x);

    /// <summary>Same elements, new shape (element counts must match).</summary>
    Tensor Reshape(Tensor x, Shape shape);

    /// <summary>Reorders axes: output axis i is input axis <c>axes[i]</c>.</summary>
    Tensor Permute(Tensor x, ReadOnlySpan<int> axes);

    /// <summary>Takes index <paramref name="index"/> along <paramref name="axis"/>, removing that axis.</summary>
    Tensor Select(Tensor x, int axis, int index);

    /// <summary>Cyclic shift like torch.roll: out[i] = x[(i − shift) mod n] along each axis in <paramref name="axes"/>.</summary>
    Tensor Roll(Tensor x, int shift, ReadOnlySpan<int> axes);

    /// <summary>[B, H, W, C] → [B·(H/w)·(W/w), w·w, C]: non-overlapping w×w windows, row-major over windows and tokens.</summary>
    Tensor WindowPartition(Tensor x, int window);

    /// <summary>Inverse of <see cref="WindowPartition"/>: [B·nW, w·w, C] → [B, H, W, C].</summary>
    Tensor WindowReverse(Tensor x, int window, int height, int width);

    /// <summary>[B, H, W, C] → [B, H/2, W/2, 4C], channels ordered (0,0), (1,0), (0,1), (1,1) by (row, column) offset, like timm's PatchMerging.</summary>
    Tensor PatchMerging(Tensor x);

    /// <summary>[B, C, H, W] → [B, H/p, W/p, C·p·p], patch elements ordered (c, kh, kw) to match a Conv2d weight [out, C, p, p].</summary>
    Tensor Patchify(Tensor x, int patch);

    /// <summary>Mean over the consecutive axes [<paramref name="firstAxis"/>, <paramref name="firstAxis"/> + <paramref name="count"/>), which are removed.</summary>
    Tensor Mean(Tensor x, int firstAxis, int count);

    /// <summary>Gathers a relative position bias table [(2w−1)², heads] into [heads, w², w²] the way Swin indexes it.</summary>
    Tensor RelativePositionBias(Tensor table, int window);

    /// <summary>The shifted-window attention mask [nW, w², w²]: 0 where two tokens come from the same region, −100 elsewhere.</summary>
    Tensor ShiftedWindowMask(int height, int width, int window, int shift, DType dtype);
}
