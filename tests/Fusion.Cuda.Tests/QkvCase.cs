namespace Fusion.Cuda.Tests;

/// <summary>
/// One window attention with its QKV projection for the QKV-prologue tests (<see cref="QkvWindowAttentionGpuTests"/>,
/// <see cref="NormQkvAttentionGpuTests"/>): the projection as the fp16 plan writes it (a bias alone, its weight and bias laid out as
/// QkvRelayout leaves them), the attention template specialized for it, fresh random fp16 operands (weights of about 1/√C, a bias in
/// [−0.5, 0.5), a relative-position bias in [−1, 1) and, where masked, a mask of 0 and −100 entries as Swin's shifted windows have,
/// every query keeping itself), the reference for windows x [windows, tokens, C] (the GEMM then the attention on the CPU backend,
/// float32 sums, the projection's output rounded to fp16 as stored), and the operands copied to the GPU.
/// </summary>
internal sealed class QkvCase : IDisposable
{
    public QkvCase(CudaDevice device, int seed, int heads, int d, int channels, int tokens, int maskWindows)
    {
        (Heads, Tokens, Features, Scale) = (heads, tokens, 3 * heads * d, (float)(1 / Math.Sqrt(d)));
        Projection = GemmKernels.Linear(Features, channels, bias: true, Activation.None, residual: false);
        Attention = FusedKernelTests.Specialize("window_attention", ("HEADS", heads), ("HEAD_DIM", d), ("TOKENS", tokens),
            ("WINDOWS", Math.Max(1, maskWindows)), ("HAS_MASK", maskWindows > 0 ? 1 : 0));
        double wScale = 1 / Math.Sqrt(channels);
        HostW = Fusion.Testing.TestData.Uniform(seed + 1, -wScale, wScale, Features, channels).ToCpu(DType.Float16);
        HostB = Fusion.Testing.TestData.Uniform(seed + 2, -0.5, 0.5, Features).ToCpu(DType.Float16);
        HostTable = Fusion.Testing.TestData.Uniform(seed + 3, -1, 1, heads, tokens, tokens).ToCpu(DType.Float16);
        HostMask = maskWindows > 0 ? Mask(seed + 4, maskWindows, tokens) : null;
        W = CudaTensor.FromHost(device, HostW);
        B = CudaTensor.FromHost(device, HostB);
        Table = CudaTensor.FromHost(device, HostTable);
        GpuMask = HostMask is null ? null : CudaTensor.FromHost(device, HostMask);
    }

    public int Heads { get; }
    public int Tokens { get; }
    public int Features { get; }
    public float Scale { get; }
    public GemmKernel Projection { get; }
    public FusedKernel Attention { get; }
    public CpuTensor HostW { get; }
    public CpuTensor HostB { get; }
    public CpuTensor HostTable { get; }
    public CpuTensor? HostMask { get; }
    public CudaTensor W { get; }
    public CudaTensor B { get; }
    public CudaTensor Table { get; }

    /// <summary>The mask on the GPU, or null (unmasked).</summary>
    public CudaTensor? GpuMask { get; }

    /// <summary>The attention of (x · wᵀ + b) per window on the CPU backend, x [windows, tokens, C] fp16: the pair as a model's plan runs it.</summary>
    public CpuTensor Reference(CpuTensor x)
    {
        var cpu = CpuBackend.Instance;
        int windows = checked((int)x.Shape[0]), channels = checked((int)x.Shape[2]);
        // The GEMM's [rows, 3·heads·d] viewed as [windows, tokens, 3·heads·d] (a test's GemmKernel is 2-D).
        using var rows = cpu.Reshape(x, new Shape(windows * Tokens, channels));
        using var qkv = cpu.Gemm(Projection, windows * Tokens, DType.Float16, rows, HostW, HostB).Single();
        using var qkvWindows = cpu.Reshape(qkv, new Shape(windows, Tokens, Features));
        return (CpuTensor)cpu.WindowAttention(qkvWindows, HostTable, HostMask, Heads, Scale, Attention);
    }

    /// <summary>[windows, tokens, tokens] of 0 or −100 (Swin's shifted-window form), each query keeping at least itself.</summary>
    private static CpuTensor Mask(int seed, int windows, int tokens)
    {
        var rng = new Random(seed);
        var values = new Half[windows * tokens * tokens];
        for (int wi = 0; wi < windows; wi++)
            for (int i = 0; i < tokens; i++)
                for (int j = 0; j < tokens; j++)
                    values[(wi * tokens + i) * tokens + j] = (Half)(i == j || rng.NextDouble() < 0.6 ? 0f : -100f);
        return CpuTensor.FromArray(values, windows, tokens, tokens);
    }

    public void Dispose()
    {
        foreach (var t in new Tensor?[] { HostW, HostB, HostTable, HostMask, W, B, Table, GpuMask }) t?.Dispose();
    }
}
