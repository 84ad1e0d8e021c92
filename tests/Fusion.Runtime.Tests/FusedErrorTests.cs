using Fusion.Kernels.Cpu.Fused;

namespace Fusion.Runtime.Tests;

/// <summary>Operand checks of compiled operators on the CPU (GEMMs, generated kernels, the attention template): each mistake named.</summary>
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
    public void WindowAttentionRejectsAKernelOfAnotherPattern()
    {
        using var qkv = Zeros(1, 49, 90);
        using var bias = Zeros(5, 49, 49);
        AssertMismatch(() => Cpu.WindowAttention(qkv, bias, null, 5, 0.5f, Kernel("bias_residual")), "WindowAttention kernel", "pattern window_attention",
            "bias_residual_test of pattern bias_residual");
    }

    [Fact]
    public void GemmNamesTheOperand()
    {
        var kernel = GemmKernels.Linear(36, 30, bias: true, Activation.Gelu, residual: true, DType.Float32);
        using var x = Zeros(2, 7, 30);
        using var w = Zeros(36, 29);
        using var b = Zeros(36);
        using var r = Zeros(14, 36);
        AssertMismatch(() => Cpu.Gemm(kernel, 14, DType.Float32, x, w, b, r)[0], "gemm_bias_gelu_add_n36_k30_f32 weight", "f32[36, 30]", "f32[36, 29]");
        using var good = Zeros(36, 30);
        using var x29 = Zeros(14, 29);
        AssertMismatch(() => Cpu.Gemm(kernel, 14, DType.Float32, x29, good, b, r)[0], "gemm_bias_gelu_add_n36_k30_f32 x", "[..., 30]");
        using var x2 = Zeros(14, 30);
        using var b35 = Zeros(35);
        AssertMismatch(() => Cpu.Gemm(kernel, 14, DType.Float32, x2, good, b35, r)[0], "gemm_bias_gelu_add_n36_k30_f32_epilogue input in", "f32[36]", "f32[35]");
        using var r13 = Zeros(13, 36);
        AssertMismatch(() => Cpu.Gemm(kernel, 14, DType.Float32, x2, good, b, r13)[0], "f32[14, 36]", "f32[13, 36]");
        using var half = CpuTensor.Zeros(DType.Float16, 36, 30);
        AssertMismatch(() => Cpu.Gemm(kernel, 14, DType.Float32, x2, half, b, r)[0], "weight", "f16[36, 30]");
        var e = Assert.Throws<FusionException>(() => Cpu.Gemm(kernel, 14, DType.Float32, x2, good, b));
        Assert.Contains("epilogue takes 2 inputs, 1 given", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GeneratedKernelsNameTheBufferAndTheKernel()
    {
        using var a = Zeros(3, 5);
        using var b = Zeros(3, 6);
        var e = Assert.Throws<TensorMismatchException>(() => F.Add(a, F.Exp(b)));
        Assert.Contains("Add", e.Message, StringComparison.Ordinal);
        var kernel = GeneratedKernel.From(Fusion.Compiler.LoopIrText.Parse("""
            kernel exp_test
            domain [N, 5]
            in in0 f32 [N, 5]
            out out0 f32 [N, 5]
            %0 = load in0[5*v0 + v1]
            %1 = exp %0
            store out0[5*v0 + v1] = %1
            """));
        var mismatch = Assert.Throws<TensorMismatchException>(() => Cpu.Run(kernel, 2, DType.Float32, a));
        Assert.Contains("exp_test input in0", mismatch.Message, StringComparison.Ordinal);
        Assert.Contains("f32[2, 5]", mismatch.Message, StringComparison.Ordinal);
        var count = Assert.Throws<FusionException>(() => Cpu.Run(kernel, 3, DType.Float32, a, a));
        Assert.Contains("exp_test takes 1 inputs (in0), 2 given", count.Message, StringComparison.Ordinal);
        var bad = new GeneratedKernel("broken", "kernel broken\ndomain [3]\n%0 = nonsense\n", "", "256,1,1,0");
        var malformed = Assert.Throws<FusionException>(() => Cpu.Run(bad, 1, DType.Float32));
        Assert.Contains("generated kernel broken: its loop IR is malformed", malformed.Message, StringComparison.Ordinal);
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
    public void TheAttentionTwinRejectsSpansTooShortForItsSizes() =>
        Assert.Throws<ArgumentException>(() => WindowAttentionTwin.Run(new float[54], new float[3], [], new float[18], 1, 1, 1, 3, 2, 1f));
}
