using Fusion.Cuda.Fused;
using Fusion.Testing;

namespace Fusion.Cuda.Tests;

/// <summary>
/// The MLP over few rows (cluster_mlp.cu through <see cref="ClusterMlp"/>: the hidden units split over a thread-block cluster, the
/// partial outputs summed through distributed shared memory) against the two GEMMs it replaces run on the CPU backend
/// (<see cref="MlpCase"/>: fresh random operands, the hidden values rounded to fp16 as stored, GELU by erf or in the tanh form as the
/// up GEMM says); Swin-T's stage 2 and 3 shapes at batch 1, and row counts that leave a tile part empty, down to one row. Tolerance
/// per output element: 2e-3 + 1e-2·|reference| (as <see cref="FusedMlpGpuTests"/>: fp16 outputs, a hidden value on the other side
/// of an fp16 rounding boundary, the GPU's erf and tanh.approx against the CPU's).
/// </summary>
public sealed class ClusterMlpGpuTests : GpuTestBase
{
    [Theory]
    [InlineData(784, 192, 768, false)]   // Swin-T stage 2, batch 1: clusters of 8 on a 132-SM GPU
    [InlineData(196, 384, 1536, false)]  // stage 3, batch 1: clusters of 16
    [InlineData(196, 384, 1536, true)]
    [InlineData(49, 384, 1536, false)]   // one tile, 15 rows empty
    [InlineData(1, 192, 768, true)]
    [InlineData(333, 128, 512, false)]   // 6 tiles, 64 hidden units a block at 8
    [InlineData(130, 128, 1024, true)]   // 3 tiles, 64 hidden units a block at 16
    public void TheClusterMlpMatchesTheTwoGemms(int rows, int channels, int hidden, bool tanhGelu)
    {
        RequireClusters("the cluster MLP");
        int seed = Fusion.Testing.TestData.NewSeed();
        using var mlp = new MlpCase(Device, seed, rows, channels, hidden, tanhGelu);
        Assert.Null(ClusterMlp.WhyNot(mlp.Up, mlp.Down, Device, DType.Float16, mlp.X, mlp.W1, mlp.W2, [mlp.B1], mlp.GpuDownInputs));
        var launcher = new ClusterMlp(Jit);
        var form = launcher.Form(rows, channels, hidden, tanhGelu, Device)
            ?? throw new InvalidOperationException($"no cluster form for {rows} rows of {channels} → {hidden} on {Device.Name} ({Device.MultiprocessorCount} SMs)");
        using var output = mlp.NewOutput();
        ClusterMlp.Run(mlp.X, mlp.W1, mlp.B1, mlp.W2, mlp.B2, mlp.Residual, output, form, mlp.X.Stream);
        using var gpu = output.ToHost();
        KernelChecks.AssertClose(gpu, mlp.Reference, new Tol(2e-3, 1e-2), $"the cluster MLP, {rows} rows of {channels} → {hidden}, clusters of {form.Split} (seed {seed})");
    }

    /// <summary>Inside a CUDA graph, replayed: the same output as launched directly (the cluster launch captured with its shape).</summary>
    [Fact]
    public void TheClusterMlpReplaysInAGraph()
    {
        RequireClusters("the cluster MLP");
        using var mlp = new MlpCase(Device, Fusion.Testing.TestData.NewSeed(), 196, 384, 1536, tanhGelu: false);
        var launcher = new ClusterMlp(Jit);
        var form = launcher.Form(196, 384, 1536, tanhGelu: false, Device) ?? throw new InvalidOperationException("no cluster form");
        using var direct = mlp.NewOutput();
        ClusterMlp.Run(mlp.X, mlp.W1, mlp.B1, mlp.W2, mlp.B2, mlp.Residual, direct, form, mlp.X.Stream);
        using var replayed = mlp.NewOutput();
        using (var graph = CudaGraph.Capture(mlp.X.Stream, s => ClusterMlp.Run(mlp.X, mlp.W1, mlp.B1, mlp.W2, mlp.B2, mlp.Residual, replayed, form, s)))
        {
            graph.Launch(mlp.X.Stream);
            graph.Launch(mlp.X.Stream);
        }
        using var a = direct.ToHost();
        using var b = replayed.ToHost();
        KernelChecks.AssertClose(b, a, new Tol(0, 0), "the cluster MLP replayed in a graph against its direct launch");
    }

    /// <summary>What the cluster kernel refuses, by reason; the backend then runs the two GEMMs.</summary>
    [Fact]
    public void OtherChannelCountsAndEpiloguesAreRefusedWithAReason()
    {
        RequireClusters("the cluster MLP");
        var up = GemmKernels.Linear(768, 192, bias: true, Activation.Gelu, residual: false);
        var down = GemmKernels.Linear(192, 768, bias: true, Activation.None, residual: true);
        var narrow = GemmKernels.Linear(384, 96, bias: true, Activation.Gelu, residual: false);
        var narrowDown = GemmKernels.Linear(96, 384, bias: true, Activation.None, residual: true);
        var relu = GemmKernels.Linear(768, 192, bias: true, Activation.Relu, residual: false);
        using var x = CudaTensor.Empty(Device.DefaultStream, DType.Float16, new Shape(5, 192));
        using var x96 = CudaTensor.Empty(Device.DefaultStream, DType.Float16, new Shape(5, 96));
        using var w1 = CudaTensor.Empty(Device.DefaultStream, DType.Float16, new Shape(768, 192));
        using var w2 = CudaTensor.Empty(Device.DefaultStream, DType.Float16, new Shape(192, 768));
        using var b1 = CudaTensor.Empty(Device.DefaultStream, DType.Float16, new Shape(768));
        using var b2 = CudaTensor.Empty(Device.DefaultStream, DType.Float16, new Shape(192));
        Assert.Null(ClusterMlp.WhyNot(up, down, Device, DType.Float16, x, w1, w2, [b1], MlpCase.DownInputs(down, b2, x)));
        Assert.Contains("96 channels", ClusterMlp.WhyNot(narrow, narrowDown, Device, DType.Float16, x96, w1, w2, [b1], MlpCase.DownInputs(narrowDown, b2, x96)));
        Assert.Contains("not bias + GELU", ClusterMlp.WhyNot(relu, down, Device, DType.Float16, x, w1, w2, [b1], MlpCase.DownInputs(down, b2, x)));
        Assert.Contains("operand shapes", ClusterMlp.WhyNot(up, down, Device, DType.Float16, x, w2, w2, [b1], MlpCase.DownInputs(down, b2, x)));
    }
}
