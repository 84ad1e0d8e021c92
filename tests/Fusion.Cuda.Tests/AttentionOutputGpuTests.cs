using Fusion.Cuda.Fused;
using Fusion.Testing;

namespace Fusion.Cuda.Tests;

/// <summary>
/// The window attention with its QKV prologue and the output projection after it (window_attention.cut with FUSION_WA_OUT through
/// <see cref="QkvWindowAttention"/>: one block a head in clusters of HEADS, the heads' outputs gathered through distributed shared
/// memory and multiplied by each block's rows of the projection) against the attention of <see cref="QkvCase"/> then the projection's
/// GEMM on the CPU backend (the attention's output rounded to fp16 as stored, float32 sums). Fresh random operands; Swin-T's stages 1–3
/// at batch 1 and at several windows a block, masked and not, a cluster of 16 heads whose two x buffers do not fit (one buffer: the
/// next window is copied after the projection), and the norm prologue in front. Tolerance per output element: 4e-3 + 1e-2·|reference|
/// (the QKV prologue's 3e-3 + 1e-2·|ref|, and an attention output one fp16 ulp away feeding C products).
/// </summary>
public sealed class AttentionOutputGpuTests : GpuTestBase
{
    [Theory]
    [InlineData(3, 96, 64, true)]     // Swin-T stage 1, batch 1: clusters of 3, 64 windows
    [InlineData(3, 96, 448, false)]   // stage 1, 7 images: several windows a block
    [InlineData(6, 192, 16, true)]    // stage 2, batch 1: clusters of 6
    [InlineData(12, 384, 4, true)]    // stage 3, batch 1: clusters of 12 (past the portable 8)
    [InlineData(12, 384, 37, false)]  // stage 3, an odd window count
    [InlineData(16, 512, 9, true)]    // 16 heads: the largest cluster; one x buffer
    public void TheAttentionWithItsOutputProjectionMatchesTheAttentionThenTheGemm(int heads, int channels, int windows, bool masked)
    {
        RequireClusters("the attention's output projection");
        const int d = 32, tokens = 49;
        int seed = Fusion.Testing.TestData.NewSeed();
        using var c = new QkvCase(Device, seed, heads, d, channels, tokens, masked ? MaskWindows(windows) : 0);
        using var output = new OutputCase(Device, seed + 10, channels);
        using var x = Fusion.Testing.TestData.Uniform(seed, -1, 1, windows, tokens, channels).ToCpu(DType.Float16);
        using var attended = c.Reference(x);
        using var reference = output.Reference(attended);

        using var gx = CudaTensor.FromHost(Device, x);
        Assert.Null(QkvWindowAttention.WhyNot(c.Projection, c.Attention, Device, DType.Float16, gx, c.W, [c.B], c.Table, c.GpuMask, heads));
        Assert.Null(QkvWindowAttention.WhyNotOut(output.Projection, c.Attention, Device, DType.Float16, channels, output.W, [output.B]));
        using var fused = new QkvWindowAttention(Jit);
        using var result = CudaTensor.Empty(gx.Stream, DType.Float16, new Shape(windows, tokens, channels));
        fused.Run(gx, c.W, c.B, c.Table, c.GpuMask, c.Scale, result, c.Attention, gx.Stream, project: new QkvWindowAttention.OutOperands(output.W, output.B));
        using var gpu = result.ToHost();
        KernelChecks.AssertClose(gpu, reference, new Tol(4e-3, 1e-2),
            $"the QKV attention with its output projection, {heads} heads of {d}, C {channels}, {windows} windows{(masked ? ", masked" : "")} (seed {seed})");
    }

    /// <summary>The norm prologue, the QKV prologue, the attention and the output projection in one kernel: Swin-T stage 1's shifted block.</summary>
    [Fact]
    public void TheWholeAttentionHalfOfASwinBlockMatchesItsSteps()
    {
        RequireClusters("the attention's output projection");
        const int heads = 3, d = 32, channels = 96, height = 56, width = 56, window = 7;
        int seed = Fusion.Testing.TestData.NewSeed();
        var geometry = new WindowNorm(1e-5f, height, width, window, -3);
        using var c = new QkvCase(Device, seed, heads, d, channels, window * window, geometry.WindowsPerImage);
        using var output = new OutputCase(Device, seed + 10, channels);
        using var norm = new NormCase(Device, seed, 1, channels, geometry);
        using var attended = c.Reference(norm.Windows);
        using var reference = output.Reference(attended);

        using var fused = new QkvWindowAttention(Jit);
        using var result = CudaTensor.Empty(norm.Image.Stream, DType.Float16, new Shape(geometry.WindowsPerImage, window * window, channels));
        fused.Run(norm.Image, c.W, c.B, c.Table, c.GpuMask, c.Scale, result, c.Attention, norm.Image.Stream, norm.Operands, new QkvWindowAttention.OutOperands(output.W, output.B));
        using var gpu = result.ToHost();
        KernelChecks.AssertClose(gpu, reference, new Tol(4e-3, 1e-2), $"norm + QKV attention + output projection, Swin-T stage 1 shifted (seed {seed})");
    }

    /// <summary>Inside a CUDA graph, replayed: the same output as launched directly (the cluster launch captured with its shape).</summary>
    [Fact]
    public void TheClusterFormReplaysInAGraph()
    {
        RequireClusters("the attention's output projection");
        int seed = Fusion.Testing.TestData.NewSeed();
        using var c = new QkvCase(Device, seed, 6, 32, 192, 49, 16);
        using var output = new OutputCase(Device, seed + 10, 192);
        using var host = Fusion.Testing.TestData.Uniform(seed, -1, 1, 32, 49, 192).ToCpu(DType.Float16);
        using var x = CudaTensor.FromHost(Device, host);
        using var fused = new QkvWindowAttention(Jit);
        var project = new QkvWindowAttention.OutOperands(output.W, output.B);
        using var direct = CudaTensor.Empty(x.Stream, DType.Float16, new Shape(32, 49, 192));
        fused.Run(x, c.W, c.B, c.Table, c.GpuMask, c.Scale, direct, c.Attention, x.Stream, project: project);
        using var replayed = CudaTensor.Empty(x.Stream, DType.Float16, new Shape(32, 49, 192));
        using (var graph = CudaGraph.Capture(x.Stream, s => fused.Run(x, c.W, c.B, c.Table, c.GpuMask, c.Scale, replayed, c.Attention, s, project: project)))
        {
            graph.Launch(x.Stream);
            graph.Launch(x.Stream);
        }
        using var a = direct.ToHost();
        using var b = replayed.ToHost();
        KernelChecks.AssertClose(b, a, new Tol(0, 0), "the attention with its output projection replayed in a graph against its direct launch");
    }

    /// <summary>What the output projection refuses, by reason; the backend then runs the projection's GEMM after the attention.</summary>
    [Fact]
    public void OtherProjectionsAreRefusedWithAReason()
    {
        var stream = Device.DefaultStream;
        var attention = FusedKernelTests.Specialize("window_attention", ("HEADS", 3), ("HEAD_DIM", 32), ("TOKENS", 49), ("WINDOWS", 4), ("HAS_MASK", 1));
        var square = GemmKernels.Linear(96, 96, bias: true, Activation.None, residual: false);
        using var w = CudaTensor.Empty(stream, DType.Float16, new Shape(96, 96));
        using var b = CudaTensor.Empty(stream, DType.Float16, new Shape(96));
        using var w32 = CudaTensor.Empty(stream, DType.Float32, new Shape(96, 96));
        if (Device.ComputeCapability < 90)
        {
            Assert.Contains("thread-block clusters", QkvWindowAttention.WhyNotOut(square, attention, Device, DType.Float16, 96, w, [b]));
            return;
        }
        Assert.Null(QkvWindowAttention.WhyNotOut(square, attention, Device, DType.Float16, 96, w, [b]));
        var wide = GemmKernels.Linear(192, 96, bias: true, Activation.None, residual: false);
        Assert.Contains("computes 192 features from 96", QkvWindowAttention.WhyNotOut(wide, attention, Device, DType.Float16, 96, w, [b]));
        var gelu = GemmKernels.Linear(96, 96, bias: true, Activation.Gelu, residual: false);
        Assert.Contains("not a bias alone", QkvWindowAttention.WhyNotOut(gelu, attention, Device, DType.Float16, 96, w, [b]));
        var plain = GemmKernels.Linear(96, 96, bias: false, Activation.None, residual: false);
        Assert.Contains("not a bias alone", QkvWindowAttention.WhyNotOut(plain, attention, Device, DType.Float16, 96, w, []));
        Assert.Contains("not fp16", QkvWindowAttention.WhyNotOut(square, attention, Device, DType.Float16, 96, w32, [b]));
        var many = FusedKernelTests.Specialize("window_attention", ("HEADS", 24), ("HEAD_DIM", 32), ("TOKENS", 49), ("WINDOWS", 1), ("HAS_MASK", 0));
        var wide768 = GemmKernels.Linear(768, 768, bias: true, Activation.None, residual: false);
        Assert.Contains("24 heads", QkvWindowAttention.WhyNotOut(wide768, many, Device, DType.Float16, 768, w, [b]));
    }

    /// <summary>Mask windows for a test of <paramref name="windows"/> windows: Swin's 64 where they divide it, else 1.</summary>
    private static int MaskWindows(int windows) => windows % 64 == 0 ? 64 : windows % 16 == 0 ? 16 : windows % 4 == 0 ? 4 : 1;

    /// <summary>The output projection: a Linear of C to C with a bias (weights of about 1/√C, a bias in [−0.5, 0.5)), its CPU reference and GPU copies.</summary>
    private sealed class OutputCase : IDisposable
    {
        public OutputCase(CudaDevice device, int seed, int channels)
        {
            Projection = GemmKernels.Linear(channels, channels, bias: true, Activation.None, residual: false);
            double scale = 1 / Math.Sqrt(channels);
            HostW = Fusion.Testing.TestData.Uniform(seed, -scale, scale, channels, channels).ToCpu(DType.Float16);
            HostB = Fusion.Testing.TestData.Uniform(seed + 1, -0.5, 0.5, channels).ToCpu(DType.Float16);
            W = CudaTensor.FromHost(device, HostW);
            B = CudaTensor.FromHost(device, HostB);
        }

        public GemmKernel Projection { get; }
        public CpuTensor HostW { get; }
        public CpuTensor HostB { get; }
        public CudaTensor W { get; }
        public CudaTensor B { get; }

        /// <summary>attended [windows, tokens, C] · wᵀ + b on the CPU backend, rounded to fp16 as the GEMM stores it.</summary>
        public CpuTensor Reference(CpuTensor attended)
        {
            var cpu = CpuBackend.Instance;
            int rows = checked((int)(attended.Shape[0] * attended.Shape[1])), channels = checked((int)attended.Shape[2]);
            using var flat = cpu.Reshape(attended, new Shape(rows, channels));
            using var projected = cpu.Gemm(Projection, rows, DType.Float16, flat, HostW, HostB).Single();
            return (CpuTensor)cpu.Reshape(projected, attended.Shape);
        }

        public void Dispose()
        {
            foreach (var t in new Tensor[] { HostW, HostB, W, B }) t.Dispose();
        }
    }
}
