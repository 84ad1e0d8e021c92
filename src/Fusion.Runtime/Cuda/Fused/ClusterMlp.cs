using Fusion.Cuda.Gemm;

namespace Fusion.Cuda.Fused;

/// <summary>
/// An MLP over few rows in one kernel (cluster_mlp.cu): the up projection with its bias and GELU, the down projection with its bias
/// and the residual, the hidden units split over a thread-block cluster so that every SM reads its own slice of the weights and the
/// partial outputs are summed through distributed shared memory. For the shapes where <see cref="FusedMlp"/> (weights resident, rows
/// walked) does not apply or pay: Swin-T's stages 2 and 3 at batch 1 (784 and 196 rows), which otherwise run as two small GEMMs.
/// Compute capability 9.0 and newer (clusters), fp16, the epilogues cuBLASLt's forms (<see cref="WhyNot"/>), and a split whose shared
/// memory fits and whose clusters fill at most one wave (<see cref="Split"/>, <see cref="Form"/>).
/// <c>FUSION_CLUSTER_MLP=on|off</c>, <b>off by default</b>: correct (tests, compute-sanitizer, timm parity) but slower than the two
/// cuBLASLt GEMMs it replaces. Swin-T batch 1 on an H100 (2026-12-06, graphs, three rounds off / on, the kernel as shipped):
/// 0.335 / 0.334 / 0.334 → 0.383 / 0.381 / 0.383 ms; inside the graph stage 3's MLP took 20.0 µs a call against the pair's 12.8,
/// stage 2's 12.5 against 12.0. Nsight Compute on stage 3's kernel: 64 blocks in clusters of 16, 18 % of the cycles with an
/// eligible warp, 13 % of L2's throughput: each block waits on its 218 KB of copies, and the clusters of the four row tiles read
/// the same weights four times where the pair reads them once (docs/perf.md).
/// </summary>
public sealed class ClusterMlp
{
    public const string Variable = "FUSION_CLUSTER_MLP";

    /// <summary>A cluster's rows (the kernel's four warps of 16), and a warp's hidden units in the up projection.</summary>
    public const int TileRows = 64, UnitsPerWarp = 32;

    /// <summary>Threads a block: four warps by rows times one for every 32 of the block's hidden units.</summary>
    public static int Threads(int hiddenPerBlock) => 4 * (hiddenPerBlock / UnitsPerWarp) * 32;

    /// <summary>The cluster sizes tried, most blocks first: 16 is Hopper's non-portable largest.</summary>
    private static readonly int[] s_splits = [16, 8, 4, 2];

    private const string Source = "cluster_mlp.cu", Function = "cluster_mlp";

    private static readonly Lazy<bool> s_enabled = new(() => Parse(Environment.GetEnvironmentVariable(Variable)));

    /// <summary>$FUSION_CLUSTER_MLP, read once (<see cref="Parse"/>).</summary>
    public static bool Enabled => s_enabled.Value;

    /// <summary>on, 1, off or 0 (unset or blank: off, measured slower); anything else is an error naming the variable.</summary>
    public static bool Parse(string? value) => OnOffSwitch.Parse(Variable, value, unset: false);

    /// <summary>Dynamic shared memory of a block: the tile's x, its W1 rows, its W2 columns and its hidden values, rows padded by 16 bytes.</summary>
    public static int SharedBytes(int channels, int hiddenPerBlock) =>
        (TileRows * (channels + 8) + hiddenPerBlock * (channels + 8) + channels * (hiddenPerBlock + 8) + TileRows * (hiddenPerBlock + 8)) * 2;

    /// <summary>
    /// The cluster size for <paramref name="rows"/> rows of a <paramref name="channels"/> → <paramref name="hidden"/> MLP, or null
    /// where none applies: the most blocks a tile whose clusters still fit one wave on <paramref name="multiprocessors"/> SMs
    /// (a second wave would read every weight slice again), each block's hidden units 64, 96 or 128 (a warp's 32 in the up
    /// projection; at least 64 so that its partial sums fit where x and W1 were; at most 128, 512 threads) and dividing the channels
    /// (the down projection's columns shared evenly by its warps), whole groups of four output columns a block to sum, and the
    /// block's shared memory within <paramref name="maxSharedBytes"/>. Swin-T on 132 SMs at batch 1: stage 2 (784 rows, 13 tiles)
    /// 8, stage 3 (196 rows, 4 tiles) 16; stage 4 (768 → 3072) does not fit; at batch 8 every stage has too many tiles.
    /// </summary>
    public static int? Split(long rows, int channels, int hidden, int multiprocessors, int maxSharedBytes)
    {
        long tiles = Tiles(rows);
        foreach (int split in s_splits)
        {
            int perBlock = hidden / split;
            if (tiles * split > multiprocessors || hidden % split != 0 || perBlock % UnitsPerWarp != 0 || perBlock < 64 || perBlock > 128
                || channels % perBlock != 0 || channels % (4 * split) != 0)
                continue;
            if (SharedBytes(channels, perBlock) <= maxSharedBytes) return split;
        }
        return null;
    }

    /// <summary>
    /// Why the cluster kernel cannot compute <paramref name="up"/> then <paramref name="down"/> on these operands (an English reason),
    /// or null when it can: the GPU, the channels, then what <see cref="MlpOperands"/> asks of any fused MLP. Whether a split fits the
    /// row count is <see cref="Form"/>'s question.
    /// </summary>
    public static string? WhyNot(GemmKernel up, GemmKernel down, CudaDevice device, DType io, CudaTensor x, CudaTensor w1, CudaTensor w2,
        IReadOnlyList<CudaTensor> upInputs, IReadOnlyList<CudaTensor> downInputs)
    {
        if (device.ComputeCapability < 90) return $"compute capability {device.ComputeCapabilityMajor}.{device.ComputeCapabilityMinor}: thread-block clusters need 9.0";
        if (up.K % 64 != 0) return $"{up.K} channels: the kernel takes a multiple of 64";
        return MlpOperands.WhyNot(up, down, io, x, w1, w2, upInputs, downInputs);
    }

    private readonly KernelJit _jit;
    private readonly Dictionary<(int C, int H, int Split, bool Erf), CudaKernel> _functions = new();
    private readonly Lock _lock = new();

    public ClusterMlp(KernelJit jit) => _jit = jit;

    /// <summary>A launch ready to go: the kernel compiled for the shape, GELU and cluster size, its threads and shared memory (allowed).</summary>
    public readonly record struct LaunchForm(CudaKernel Function, int Split, int Threads, int SharedBytes);

    /// <summary>The form to launch <paramref name="rows"/> rows with on this device, or null where the pair should run:
    /// <see cref="Split"/>'s choice, confirmed by the driver (a cluster of 16 needs 16 free SMs in one GPC; where the device holds
    /// fewer clusters than the rows' tiles at once, a wave would not fit after all).</summary>
    public LaunchForm? Form(long rows, int channels, int hidden, bool tanhGelu, CudaDevice device)
    {
        if (Split(rows, channels, hidden, device.MultiprocessorCount, device.MaxSharedMemoryPerBlock) is not { } split) return null;
        var form = new LaunchForm(Kernel(channels, hidden, split, !tanhGelu), split, Threads(hidden / split), SharedBytes(channels, hidden / split));
        form.Function.AllowSharedMemory(form.SharedBytes);
        return form.Function.ResidentClusters(form.Threads, form.SharedBytes, split) >= Tiles(rows) ? form : null;
    }

    /// <summary>
    /// output = residual + b2 + fp16(gelu(x · w1ᵀ + b1)) · w2ᵀ on the rows of x in <paramref name="form"/> (<see cref="Form"/>, for
    /// these rows, shapes and GELU); the caller checked the operands (<see cref="WhyNot"/>) and allocated output like residual.
    /// </summary>
    public static void Run(CudaTensor x, CudaTensor w1, CudaTensor b1, CudaTensor w2, CudaTensor b2, CudaTensor residual, CudaTensor output,
        LaunchForm form, CudaStream stream)
    {
        int m = checked((int)(x.ElementCount / x.Shape[-1]));
        if (m == 0) return;
        var args = new KernelArguments().Pointer(x).Pointer(w1).Pointer(b1).Pointer(w2).Pointer(b2).Pointer(residual).Pointer(output).Int(m);
        form.Function.Launch(stream, checked((int)Tiles(m) * form.Split), form.Threads, args, form.SharedBytes, new Dim3((uint)form.Split));
    }

    /// <summary>The 64-row tiles of <paramref name="rows"/> rows: one cluster each.</summary>
    private static long Tiles(long rows) => (rows + TileRows - 1) / TileRows;

    private CudaKernel Kernel(int channels, int hidden, int split, bool erf)
    {
        lock (_lock)
        {
            if (_functions.TryGetValue((channels, hidden, split, erf), out var known)) return known;
            var module = _jit.Load($"cluster_mlp_c{channels}_h{hidden}_s{split}_{(erf ? "erf" : "tanh")}", Fusion.Kernels.KernelSources.Get(Source),
                [$"-DFUSION_MLP_C={channels}", $"-DFUSION_MLP_H={hidden}", $"-DFUSION_MLP_SPLIT={split}", $"-DFUSION_MLP_ERF={(erf ? 1 : 0)}"]);
            return _functions[(channels, hidden, split, erf)] = module.GetKernel(Function);
        }
    }
}
