using Fusion.Cuda.Gemm;

namespace Fusion.Cuda.Fused;

/// <summary>
/// An MLP's two GEMMs in one kernel (fused_mlp.cu): the up projection with its bias and GELU, the down projection with its bias and
/// the residual, the hidden tensor kept on chip. It applies where the kernel exists for the shapes and the GPU: compute capability
/// 9.0 (warpgroup MMA, sm_90a code), fp16 throughout, 96 channels and 384 hidden units (Swin-T's first stage), the two epilogues
/// exactly cuBLASLt's forms (<see cref="WhyNot"/>); elsewhere the backend runs the two GEMMs (<see cref="IBackend.MlpAsPair"/>).
/// <c>FUSION_MLP=on|off</c>, on by default: Swin-T on an H100 (2026-12-06, graphs, two rounds off / on) 2.509 / 2.503 → 2.430 / 2.424 ms
/// at batch 64, 4.780 / 4.783 → 4.642 / 4.649 at batch 128, 0.528 / 0.532 → 0.523 / 0.528 at batch 8; but 0.340 / 0.343 → 0.357 /
/// 0.356 at batch 1 (3136 rows, 49 tiles), so the backend takes it only where there are as many tiles as SMs (<see cref="Pays"/>).
/// </summary>
public sealed class FusedMlp
{
    public const string Variable = "FUSION_MLP";

    /// <summary>The channels (x's and the output's last axis) and hidden units the kernel is written for.</summary>
    public const int Channels = 96, Hidden = 384;

    private const string Source = "fused_mlp.cu", Function = "fused_mlp_c96_h384";

    /// <summary>A warpgroup's rows a tile (the kernel's TileRows).</summary>
    private const int TileRows = 64;

    private static readonly Lazy<bool> s_enabled = new(() => Parse(Environment.GetEnvironmentVariable(Variable)));

    /// <summary>$FUSION_MLP, read once (<see cref="Parse"/>).</summary>
    public static bool Enabled => s_enabled.Value;

    /// <summary>on, 1, off or 0 (unset or blank: on); anything else is an error naming the variable.</summary>
    public static bool Parse(string? value) => OnOffSwitch.Parse(Variable, value, unset: true);

    /// <summary>
    /// Whether the fused kernel is worth launching for <paramref name="rows"/> rows on <paramref name="multiprocessors"/> SMs: at least
    /// one 64-row tile an SM. With fewer, each block's 144 KB weight copy is paid by too few tiles and the two GEMMs were faster
    /// (Swin-T batch 1, stage 1: 49 tiles on 132 SMs, 8 µs slower an MLP inside the graph; batch 8, 392 tiles, faster).
    /// </summary>
    public static bool Pays(long rows, int multiprocessors) => (rows + TileRows - 1) / TileRows >= multiprocessors;

    private readonly KernelJit _jit;
    private readonly Dictionary<(bool Erf, int Groups), CudaKernel> _functions = new();
    private readonly Lock _lock = new();

    public FusedMlp(KernelJit jit) => _jit = jit;

    /// <summary>
    /// Why the fused kernel cannot compute <paramref name="up"/> then <paramref name="down"/> on these operands (an English reason),
    /// or null when it can: the GPU, the kernel's shapes, then what <see cref="MlpOperands"/> asks of any fused MLP.
    /// </summary>
    public static string? WhyNot(GemmKernel up, GemmKernel down, CudaDevice device, DType io, CudaTensor x, CudaTensor w1, CudaTensor w2,
        IReadOnlyList<CudaTensor> upInputs, IReadOnlyList<CudaTensor> downInputs)
    {
        if (device.ComputeCapability != 90) return $"compute capability {device.ComputeCapabilityMajor}.{device.ComputeCapabilityMinor}: the kernel is sm_90a code (9.0 only)";
        if (up.K != Channels || up.N != Hidden) return $"{up.K} → {up.N} → {up.K} features: the kernel is written for {Channels} → {Hidden} → {Channels}";
        return MlpOperands.WhyNot(up, down, io, x, w1, w2, upInputs, downInputs);
    }

    /// <summary>
    /// output = residual + b2 + fp16(gelu(x · w1ᵀ + b1)) · w2ᵀ on the rows of x (GELU by erf, or in the tanh form where
    /// <paramref name="tanhGelu"/>); the caller checked the operands (<see cref="WhyNot"/>) and allocated output like residual.
    /// </summary>
    public void Run(CudaTensor x, CudaTensor w1, CudaTensor b1, CudaTensor w2, CudaTensor b2, CudaTensor residual, CudaTensor output, bool tanhGelu, CudaStream stream)
    {
        int m = checked((int)(x.ElementCount / Channels));
        if (m == 0) return;
        int tiles = (m + TileRows - 1) / TileRows, sms = stream.Device.MultiprocessorCount;
        // Three warpgroups a block where there are more tiles than SMs, two where fewer (more blocks): bench/cuda/mlp_probe.cu on
        // the H100 and H200, 2026-12-06 (batch 1, 49 tiles: 2 faster by 15 %; batch 8 and more: 3 faster by 5–10 %).
        int groups = tiles > sms ? 3 : 2;
        var function = Kernel(!tanhGelu, groups);
        int shared = SharedBytes(groups);
        function.AllowSharedMemory(shared);
        var args = new KernelArguments().Pointer(x).Pointer(w1).Pointer(b1).Pointer(w2).Pointer(b2).Pointer(residual).Pointer(output).Int(m);
        int blocks = Math.Min(sms, (tiles + groups - 1) / groups);
        function.Launch(stream, blocks, groups * 128, args, shared);
    }

    /// <summary>W1 and W2 (72 KB each) + each warpgroup's two row buffers (12 KB each) + 1 KB to align the base, as the kernel lays them out.</summary>
    public static int SharedBytes(int groups) => Hidden * Channels * 2 * 2 + groups * 2 * TileRows * Channels * 2 + 1024;

    private CudaKernel Kernel(bool erf, int groups)
    {
        lock (_lock)
        {
            if (_functions.TryGetValue((erf, groups), out var known)) return known;
            var module = _jit.Load($"fused_mlp_c96_h384_{(erf ? "erf" : "tanh")}_g{groups}", Fusion.Kernels.KernelSources.Get(Source),
                [$"-DFUSION_MLP_ERF={(erf ? 1 : 0)}", $"-DFUSION_MLP_GROUPS={groups}"], GemmTile.HopperArchitecture);
            return _functions[(erf, groups)] = module.GetKernel(Function);
        }
    }
}
