using Fusion.Testing;

namespace Fusion.Runtime.Tests;

/// <summary>
/// The unfused operator chains each fused operator replaces, written twice: in float64 from the
/// <see cref="Ref"/> operators (the expected values) and with the CPU backend's unfused operators
/// (whose float16 error is the bar a fused float16 result must meet).
/// </summary>
internal static class UnfusedChains
{
    private static readonly CpuBackend Cpu = CpuBackend.Instance;

    /// <summary>Linear → activation → Add(residual).</summary>
    public static RefTensor Linear(RefTensor x, RefTensor w, RefTensor? b, Activation activation, RefTensor? residual)
    {
        var y = Ref.Linear(x, w, b);
        y = activation switch
        {
            Activation.Relu => Ref.Relu(y),
            Activation.Gelu => Ref.Gelu(y),
            _ => y,
        };
        return residual is null ? y : Ref.Add(y, residual);
    }

    public static Tensor Linear(TensorScope s, Tensor x, Tensor w, Tensor? b, Activation activation, Tensor? residual)
    {
        var y = s.Add(Cpu.Linear(x, w, b));
        y = activation switch
        {
            Activation.Relu => s.Add(Cpu.Relu(y)),
            Activation.Gelu => s.Add(Cpu.Gelu(y)),
            _ => y,
        };
        return residual is null ? y : s.Add(Cpu.Add(y, residual));
    }

    /// <summary>LayerNorm → Roll(−shift) on H and W → WindowPartition.</summary>
    public static RefTensor LayerNormPartition(RefTensor x, RefTensor gamma, RefTensor beta, double eps, int window, int shift) =>
        Ref.WindowPartition(Ref.Roll(Ref.LayerNorm(x, gamma, beta, eps), -shift, 1, 2), window);

    public static Tensor LayerNormPartition(TensorScope s, Tensor x, Tensor gamma, Tensor beta, float eps, int window, int shift)
    {
        var normalized = s.Add(Cpu.LayerNorm(x, gamma, beta, eps));
        return s.Add(Cpu.WindowPartition(s.Add(Cpu.Roll(normalized, -shift, [1, 2])), window));
    }

    /// <summary>WindowReverse → Roll(+shift) on H and W → Add(residual).</summary>
    public static RefTensor ReverseResidual(RefTensor x, RefTensor residual, int window, int shift) =>
        Ref.Add(residual, Ref.Roll(Ref.WindowReverse(x, window, residual.Shape[1], residual.Shape[2]), shift, 1, 2));

    public static Tensor ReverseResidual(TensorScope s, Tensor x, Tensor residual, int window, int shift)
    {
        var image = s.Add(Cpu.WindowReverse(x, window, residual.Shape[1], residual.Shape[2]));
        return s.Add(Cpu.Add(residual, s.Add(Cpu.Roll(image, shift, [1, 2]))));
    }

    /// <summary>The unfused chain of <see cref="Ref.WindowAttention"/> on the CPU backend.</summary>
    public static Tensor Attention(TensorScope s, Tensor qkv, Tensor bias, Tensor? mask, int heads, float scale)
    {
        int windows = qkv.Shape[0], n = qkv.Shape[1], c = qkv.Shape[2] / 3, d = c / heads;
        var parts = s.Add(Cpu.Permute(s.Add(Cpu.Reshape(qkv, new Shape(windows, n, 3, heads, d))), [2, 0, 3, 1, 4]));
        var q = s.Add(Cpu.Mul(s.Add(Cpu.Select(parts, 0, 0)), scale));
        var scores = s.Add(Cpu.Add(s.Add(Cpu.MatMul(q, s.Add(Cpu.Select(parts, 0, 1)), transposeB: true)), bias));
        if (mask is not null)
        {
            int perImage = mask.Shape[0];
            var grouped = s.Add(Cpu.Add(
                s.Add(Cpu.Reshape(scores, new Shape(windows / perImage, perImage, heads, n, n))),
                s.Add(Cpu.Reshape(mask, new Shape(perImage, 1, n, n)))));
            scores = s.Add(Cpu.Reshape(grouped, new Shape(windows, heads, n, n)));
        }
        var attended = s.Add(Cpu.MatMul(s.Add(Cpu.Softmax(scores)), s.Add(Cpu.Select(parts, 0, 2)), transposeB: false));
        return s.Add(Cpu.Reshape(s.Add(Cpu.Permute(attended, [0, 2, 1, 3])), new Shape(windows, n, c)));
    }
}
