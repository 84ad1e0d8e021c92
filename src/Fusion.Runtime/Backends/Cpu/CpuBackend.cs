namespace Fusion;

// TRANSIENT placeholder so the tree builds while the CPU backend is written; replaced before landing.
public sealed class CpuBackend : IBackend
{
    public static CpuBackend Instance { get; } = new();

    public string Name => "cpu";

    public DeviceKind Device => DeviceKind.Cpu;

    public Tensor Param(Parameter parameter, DType dtype) => throw new NotSupportedException("TRANSIENT: CPU backend being written");
    public Tensor FromHost(CpuTensor host) => throw new NotSupportedException("TRANSIENT: CPU backend being written");
    public CpuTensor ToHost(Tensor tensor) => throw new NotSupportedException("TRANSIENT: CPU backend being written");
    public Tensor Cast(Tensor x, DType dtype) => throw new NotSupportedException("TRANSIENT: CPU backend being written");
    public Tensor Linear(Tensor x, Tensor weight, Tensor? bias) => throw new NotSupportedException("TRANSIENT: CPU backend being written");
    public Tensor MatMul(Tensor a, Tensor b, bool transposeB) => throw new NotSupportedException("TRANSIENT: CPU backend being written");
    public Tensor Add(Tensor a, Tensor b) => throw new NotSupportedException("TRANSIENT: CPU backend being written");
    public Tensor Mul(Tensor x, float scalar) => throw new NotSupportedException("TRANSIENT: CPU backend being written");
    public Tensor Gelu(Tensor x) => throw new NotSupportedException("TRANSIENT: CPU backend being written");
    public Tensor Relu(Tensor x) => throw new NotSupportedException("TRANSIENT: CPU backend being written");
    public Tensor LayerNorm(Tensor x, Tensor weight, Tensor bias, float eps) => throw new NotSupportedException("TRANSIENT: CPU backend being written");
    public Tensor Softmax(Tensor x) => throw new NotSupportedException("TRANSIENT: CPU backend being written");
    public Tensor Reshape(Tensor x, Shape shape) => throw new NotSupportedException("TRANSIENT: CPU backend being written");
    public Tensor Permute(Tensor x, ReadOnlySpan<int> axes) => throw new NotSupportedException("TRANSIENT: CPU backend being written");
    public Tensor Select(Tensor x, int axis, int index) => throw new NotSupportedException("TRANSIENT: CPU backend being written");
    public Tensor Roll(Tensor x, int shift, ReadOnlySpan<int> axes) => throw new NotSupportedException("TRANSIENT: CPU backend being written");
    public Tensor WindowPartition(Tensor x, int window) => throw new NotSupportedException("TRANSIENT: CPU backend being written");
    public Tensor WindowReverse(Tensor x, int window, int height, int width) => throw new NotSupportedException("TRANSIENT: CPU backend being written");
    public Tensor PatchMerging(Tensor x) => throw new NotSupportedException("TRANSIENT: CPU backend being written");
    public Tensor Patchify(Tensor x, int patch) => throw new NotSupportedException("TRANSIENT: CPU backend being written");
    public Tensor Mean(Tensor x, int firstAxis, int count) => throw new NotSupportedException("TRANSIENT: CPU backend being written");
    public Tensor RelativePositionBias(Tensor table, int window) => throw new NotSupportedException("TRANSIENT: CPU backend being written");
    public Tensor ShiftedWindowMask(int height, int width, int window, int shift, DType dtype) => throw new NotSupportedException("TRANSIENT: CPU backend being written");
}
