using Fusion.Kernels.Cpu.Fused;

namespace Fusion.Runtime.Tests;

/// <summary>Operand checks of the fused operators on the CPU: a kernel of another pattern, wrong shapes and dtypes, each named.</summary>
public class FusedErrorTests
{
    private static readonly CpuBackend Cpu = CpuBackend.Instance;

    private static FusedKernel Kernel(string pattern) => new($"{pattern}_test", pattern, "", new Dictionary<string, int>());

    private static void AssertMismatch(Func<Tensor> op, params string[] fragments)
    {
        var e = Assert.Throws<TensorMismatchException>(() => op().Dispose());
        foreach (var f in fragments) Assert.Contains(f, e.Message, StringComparison.Ordinal);
    }

    private static CpuTensor Zeros(params int[] shape) => CpuTensor.Zeros(DType.Float32, shape);

    [Fact]
    public void EveryFusedOperatorRejectsAKernelOfAnotherPattern()
    {
        using var x = Zeros(2, 49, 30);
        using var w = Zeros(30, 30);
        using var c = Zeros(30);
        using var image = Zeros(1, 7, 7, 30);
        using var windows = Zeros(1, 49, 30);
        using var qkv = Zeros(1, 49, 90);
        using var bias = Zeros(5, 49, 49);
        var wrong = Kernel("bias_residual");
        AssertMismatch(() => Cpu.FusedLinear(x, w, c, Activation.Gelu, null, wrong), "FusedLinear kernel", "pattern gemm_bias_act", "bias_residual_test of pattern bias_residual");
        AssertMismatch(() => Cpu.LayerNormWindowPartition(image, c, c, 1e-5f, 7, 0, wrong), "LayerNormWindowPartition kernel", "pattern ln_shift_partition");
        AssertMismatch(() => Cpu.WindowReverseResidual(windows, image, 7, 0, wrong), "WindowReverseResidual kernel", "pattern window_reverse_residual");
        AssertMismatch(() => Cpu.WindowAttention(qkv, bias, null, 5, 0.5f, wrong), "WindowAttention kernel", "pattern window_attention");
        AssertMismatch(() => Cpu.BiasResidual(x, c, x, Kernel("gemm_bias_act")), "BiasResidual kernel", "pattern bias_residual");
    }

    [Fact]
    public void FusedLinearNamesTheOperand()
    {
        var kernel = Kernel("gemm_bias_act");
        using var x = Zeros(2, 7, 30);
        using var w = Zeros(36, 29);
        AssertMismatch(() => Cpu.FusedLinear(x, w, null, Activation.None, null, kernel), "FusedLinear weight: expected f32[*, 30], got f32[36, 29]");
        using var good = Zeros(36, 30);
        using var bias = Zeros(35);
        AssertMismatch(() => Cpu.FusedLinear(x, good, bias, Activation.Relu, null, kernel), "FusedLinear bias: expected f32[36], got f32[35]");
        using var residual = Zeros(2, 7, 30);
        AssertMismatch(() => Cpu.FusedLinear(x, good, null, Activation.Gelu, residual, kernel), "FusedLinear residual: expected f32[2, 7, 36], got f32[2, 7, 30]");
        using var half = CpuTensor.Zeros(DType.Float16, 36, 30);
        AssertMismatch(() => Cpu.FusedLinear(x, half, null, Activation.None, null, kernel), "FusedLinear weight", "got f16[36, 30]");
        Assert.Throws<ArgumentOutOfRangeException>(() => Cpu.FusedLinear(x, good, null, (Activation)7, null, kernel));
    }

    [Fact]
    public void BiasResidualNamesTheOperand()
    {
        var kernel = Kernel("bias_residual");
        using var x = Zeros(3, 14, 30);
        using var bias = Zeros(36);
        AssertMismatch(() => Cpu.BiasResidual(x, bias, x, kernel), "BiasResidual bias: expected f32[30], got f32[36]");
        using var good = Zeros(30);
        using var residual = Zeros(3, 15, 30);
        AssertMismatch(() => Cpu.BiasResidual(x, good, residual, kernel), "BiasResidual residual: expected f32[3, 14, 30], got f32[3, 15, 30]");
    }

    [Fact]
    public void WindowOperatorsNameTheOperand()
    {
        var partition = Kernel("ln_shift_partition");
        using var image = Zeros(1, 14, 15, 36);
        using var c = Zeros(36);
        AssertMismatch(() => Cpu.LayerNormWindowPartition(image, c, c, 1e-5f, 7, 3, partition), "LayerNormWindowPartition x", "multiples of the window 7", "got f32[1, 14, 15, 36]");
        using var square = Zeros(1, 14, 14, 36);
        using var c30 = Zeros(30);
        AssertMismatch(() => Cpu.LayerNormWindowPartition(square, c30, c, 1e-5f, 7, 3, partition), "LayerNormWindowPartition weight: expected f32[36], got f32[30]");
        Assert.Throws<ArgumentOutOfRangeException>(() => Cpu.LayerNormWindowPartition(square, c, c, 1e-5f, 7, 7, partition));

        var reverse = Kernel("window_reverse_residual");
        using var windows = Zeros(4, 49, 36);
        using var tooFew = Zeros(3, 49, 36);
        AssertMismatch(() => Cpu.WindowReverseResidual(tooFew, square, 7, 3, reverse), "WindowReverseResidual x: expected f32[4, 49, 36]", "got f32[3, 49, 36]");
        using var tokens = Zeros(4, 48, 36);
        AssertMismatch(() => Cpu.WindowReverseResidual(tokens, square, 7, 3, reverse), "WindowReverseResidual x: expected f32[*, 49, *], got f32[4, 48, 36]");
        using var narrow = Zeros(1, 14, 14, 30);
        AssertMismatch(() => Cpu.WindowReverseResidual(windows, narrow, 7, 3, reverse), "WindowReverseResidual residual: expected f32[*, *, *, 36], got f32[1, 14, 14, 30]");
        Assert.Throws<ArgumentOutOfRangeException>(() => Cpu.WindowReverseResidual(windows, square, 7, -1, reverse));
    }

    [Fact]
    public void WindowAttentionNamesTheOperand()
    {
        var kernel = Kernel("window_attention");
        using var qkv = Zeros(12, 49, 90);
        using var bias = Zeros(5, 49, 49);
        using var ragged = Zeros(12, 49, 91);
        AssertMismatch(() => Cpu.WindowAttention(ragged, bias, null, 5, 0.4f, kernel), "WindowAttention qkv", "multiple of 3·heads", "got f32[12, 49, 91]");
        using var heads4 = Zeros(4, 49, 49);
        AssertMismatch(() => Cpu.WindowAttention(qkv, heads4, null, 5, 0.4f, kernel), "WindowAttention bias: expected f32[5, 49, 49], got f32[4, 49, 49]");
        using var mask = Zeros(5, 49, 49);
        AssertMismatch(() => Cpu.WindowAttention(qkv, bias, mask, 5, 0.4f, kernel), "WindowAttention mask", "divides the 12 windows", "got f32[5, 49, 49]");
        using var mask16 = CpuTensor.Zeros(DType.Float16, 4, 49, 49);
        AssertMismatch(() => Cpu.WindowAttention(qkv, bias, mask16, 5, 0.4f, kernel), "WindowAttention mask", "got f16[4, 49, 49]");
    }

    [Fact]
    public void TwinsRejectSpansTooShortForTheirSizes()
    {
        var small = new float[10];
        Assert.Throws<ArgumentException>(() => FusedLinearTwin.Run(small, small, [], [], new float[3], 2, 2, 3, 0));
        Assert.Throws<ArgumentException>(() => BiasResidualTwin.Run(small, new float[5], small, new float[9], 2, 5));
        Assert.Throws<ArgumentException>(() => LayerNormPartitionTwin.Run(small, new float[2], new float[2], small, 1, 3, 3, 2, 3, 0, 1e-5f));
        Assert.Throws<ArgumentException>(() => WindowReverseResidualTwin.Run(small, small, small, 1, 3, 3, 2, 3, 0));
        Assert.Throws<ArgumentException>(() => WindowAttentionTwin.Run(new float[54], new float[3], [], new float[18], 1, 1, 1, 3, 2, 1f));
    }
}
