using Fusion.Cuda.Gemm;
using Fusion.Testing;

namespace Fusion.Cuda.Tests;

/// <summary>
/// One MLP for the fused-MLP kernels' tests (<see cref="FusedMlpGpuTests"/>, <see cref="ClusterMlpGpuTests"/>): the two GEMMs as the
/// fp16 plan writes them (up: bias + GELU by erf or in the tanh form; down: bias + a residual), fresh random fp16 operands (x in
/// [−2, 2), weights of timm's initial scale, 1/√fan-in, so that the hidden values span GELU's curve, biases in [−0.5, 0.5), a
/// residual in [−1, 1)), the two GEMMs run on the CPU backend as the reference (float32 sums, the hidden values rounded to fp16 as
/// stored), and the operands copied to the GPU.
/// </summary>
internal sealed class MlpCase : IDisposable
{
    public MlpCase(CudaDevice device, int seed, int rows, int channels, int hidden, bool tanhGelu)
    {
        Up = GemmKernels.Linear(hidden, channels, bias: true, tanhGelu ? Activation.GeluTanh : Activation.Gelu, residual: false);
        Down = GemmKernels.Linear(channels, hidden, bias: true, Activation.None, residual: true);
        double s1 = 1 / Math.Sqrt(channels), s2 = 1 / Math.Sqrt(hidden);
        using var x = Fusion.Testing.TestData.Uniform(seed, -2, 2, rows, channels).ToCpu(DType.Float16);
        using var w1 = Fusion.Testing.TestData.Uniform(seed + 1, -s1, s1, hidden, channels).ToCpu(DType.Float16);
        using var b1 = Fusion.Testing.TestData.Uniform(seed + 2, -0.5, 0.5, hidden).ToCpu(DType.Float16);
        using var w2 = Fusion.Testing.TestData.Uniform(seed + 3, -s2, s2, channels, hidden).ToCpu(DType.Float16);
        using var b2 = Fusion.Testing.TestData.Uniform(seed + 4, -0.5, 0.5, channels).ToCpu(DType.Float16);
        using var residual = Fusion.Testing.TestData.Uniform(seed + 5, -1, 1, rows, channels).ToCpu(DType.Float16);
        Reference = (CpuTensor)IBackend.MlpAsPair(CpuBackend.Instance, Up, Down, rows, DType.Float16, x, w1, [b1], w2, DownInputs(Down, b2, residual)).Single();
        X = CudaTensor.FromHost(device, x);
        W1 = CudaTensor.FromHost(device, w1);
        B1 = CudaTensor.FromHost(device, b1);
        W2 = CudaTensor.FromHost(device, w2);
        B2 = CudaTensor.FromHost(device, b2);
        Residual = CudaTensor.FromHost(device, residual);
    }

    public GemmKernel Up { get; }
    public GemmKernel Down { get; }
    public CpuTensor Reference { get; }
    public CudaTensor X { get; }
    public CudaTensor W1 { get; }
    public CudaTensor B1 { get; }
    public CudaTensor W2 { get; }
    public CudaTensor B2 { get; }
    public CudaTensor Residual { get; }

    /// <summary>The down GEMM's epilogue inputs on the GPU, in its order.</summary>
    public CudaTensor[] GpuDownInputs => DownInputs(Down, B2, Residual);

    /// <summary>The down GEMM's epilogue inputs in its own order (bias and residual where its cuBLASLt form says).</summary>
    public static T[] DownInputs<T>(GemmKernel down, T bias, T residual)
    {
        var form = down.Cublas!;
        var inputs = new T[2];
        inputs[form.Bias] = bias;
        inputs[form.Residual] = residual;
        return inputs;
    }

    /// <summary>An fp16 output of x's shape, on x's stream.</summary>
    public CudaTensor NewOutput() => CudaTensor.Empty(X.Stream, DType.Float16, X.Shape);

    public void Dispose()
    {
        Reference.Dispose();
        foreach (var t in new[] { X, W1, B1, W2, B2, Residual }) t.Dispose();
    }
}
