using System.Globalization;
using System.Runtime.CompilerServices;

namespace Fusion.Cuda.Gemm;

/// <summary>
/// Runs a fused linear layer out[m, N] = act(x · wᵀ + bias) + residual (x [..., K] flattened to m rows, all fp16) either
/// through the model's generated <c>gemm_bias_act</c> kernel or through cuBLASLt, chosen per (m, N, K, epilogue):
/// under <see cref="GemmPolicy.FastRun"/> the first call on a shape times cuBLASLt and the generated kernel in its default tile, and
/// in its other <see cref="GemmTile.Candidates"/> when the default one comes close (<see cref="ExploreTiles"/>), on the caller's tensors (CUDA events behind a <see cref="StreamHold"/>, so the GPU time alone;
/// 2 warm-ups, median of 5) and keeps the fastest
/// in a <see cref="GemmChoiceCache"/> in the kernel cache folder, keyed by device, shape, epilogue, kernel source and
/// cuBLASLt version (<see cref="GemmPolicy.Cached"/> uses such a decision where one exists, else cuBLASLt). That first call
/// synchronizes the stream, so run a shape once before capturing it in a CUDA graph. Modules are compiled through the
/// <see cref="KernelJit"/> (disk-cached) and kept loaded per kernel and tile.
/// The generated kernel reads the weight with row stride KW (K rounded up to a multiple of 8) so its loads stay
/// 16-byte vectors: when K % 8 != 0 the first generated run on a weight tensor makes a zero-padded [N, KW] copy
/// (through the host, synchronizing: run it once before capturing a graph) and keeps it for that tensor object; cuBLASLt
/// gets the unpadded weight. A caller that rewrites a weight in place calls <see cref="RefreshPaddedWeight"/> (CudaBackend.Param does).
/// </summary>
public sealed class FusedGemm : IDisposable
{
    public const string Pattern = "gemm_bias_act";

    private const int WarmupRuns = 2, TimedRuns = 5;

    /// <summary>
    /// Fast-run times the other tiles only when the default tile is within this factor of cuBLASLt: on the H100's Swin-T shapes the
    /// best tile was at most 1.6x faster than the default one (docs/perf.md), so a default tile further behind leaves cuBLASLt
    /// the winner, and skipping the rest saves compiling three more kernels per shape on a cold start.
    /// </summary>
    private const double ExploreTiles = 1.6;

    private readonly CudaDevice _device;
    private readonly KernelJit _jit;
    private readonly CublasLt _cublas;
    private readonly bool _ownsCublas;
    private readonly Dictionary<(string Kernel, GemmTile Tile), (string Source, CudaModule Module, CudaKernel Kernel)> _kernels = [];
    private readonly Dictionary<int, CudaTensor> _zeroBiases = [];
    // Keyed by the weight object: the backend's parameter copies keep their identity (and address) across refreshes,
    // so a captured graph that read a padded copy keeps reading the same buffer, refreshed in place.
    private readonly ConditionalWeakTable<CudaTensor, CudaTensor> _padded = new();
    private StreamHold? _hold;
    private CudaModule? _addModule;
    private CudaKernel? _add;

    public FusedGemm(CudaDevice device, KernelJit jit, GemmPolicy? policy = null, CublasLt? cublas = null, string? choiceDirectory = null,
        Action<string>? warn = null)
    {
        _device = device;
        _jit = jit;
        Policy = policy ?? GemmPolicies.FromEnvironment();
        _ownsCublas = cublas is null;
        _cublas = cublas ?? new CublasLt(device);
        Choices = new GemmChoiceCache(choiceDirectory ?? jit.Cache.Directory, warn);
    }

    public GemmPolicy Policy { get; }

    public GemmChoiceCache Choices { get; }

    /// <summary>How many shapes this instance has timed (fast-run measurements).</summary>
    public int Measurements { get; private set; }

    /// <summary>The path the last <see cref="Run"/> took.</summary>
    public GemmPath? LastPath { get; private set; }

    /// <summary>The generated kernel's tile in the last <see cref="Run"/> (null when it took cuBLASLt).</summary>
    public GemmTile? LastTile { get; private set; }

    /// <summary>Whether the last <see cref="Run"/> fed the generated kernel a zero-padded [N, KW] copy of the weight (K % 8 != 0).</summary>
    public bool LastRunPaddedWeight { get; private set; }

    /// <summary>How many padded weight copies this instance has made (one per weight tensor with K % 8 != 0).</summary>
    public int PaddedWeights { get; private set; }

    /// <summary>The name the generator gives a specialization, e.g. <c>gemm_bias_gelu_res_n384_k96</c>.</summary>
    public static string KernelName(int n, int k, Activation activation, bool hasBias, bool hasResidual)
        => string.Create(CultureInfo.InvariantCulture,
            $"gemm{(hasBias ? "_bias" : "")}{activation switch { Activation.Relu => "_relu", Activation.Gelu => "_gelu", _ => "" }}{(hasResidual ? "_res" : "")}_n{n}_k{k}");

    /// <summary>The constants a <c>gemm_bias_act</c> specialization takes (KW: the weight's row stride, <see cref="GemmWeights.RowStride"/>).</summary>
    public static IReadOnlyDictionary<string, int> Constants(int n, int k, Activation activation, bool hasBias, bool hasResidual) => new Dictionary<string, int>
    {
        ["N"] = n,
        ["K"] = k,
        ["KW"] = GemmWeights.RowStride(k),
        ["ACT"] = (int)activation,
        ["HAS_BIAS"] = hasBias ? 1 : 0,
        ["HAS_RESIDUAL"] = hasResidual ? 1 : 0,
    };

    /// <summary>A <c>gemm_bias_act</c> kernel specialized from the embedded template (what the generator emits).</summary>
    public static FusedKernel Specialize(int n, int k, Activation activation, bool hasBias, bool hasResidual)
    {
        var name = KernelName(n, k, activation, hasBias, hasResidual);
        var constants = Constants(n, k, activation, hasBias, hasResidual);
        return new FusedKernel(name, Pattern, Kernels.KernelTemplates.Specialize(Pattern, name, constants), constants);
    }

    /// <summary>out = act(x·wᵀ + bias) + residual through the path the policy (or fast-run) picks.</summary>
    public void Run(CudaTensor x, CudaTensor weight, CudaTensor? bias, Activation activation, CudaTensor? residual, CudaTensor output,
        FusedKernel kernel, CudaStream? stream = null)
    {
        int m = Validate(x, weight, bias, activation, residual, output, kernel);
        if (m == 0) return;
        var s = stream ?? _device.DefaultStream;
        var (path, tile) = Policy switch
        {
            GemmPolicy.Generated => (GemmPath.Generated, GemmTile.Default(kernel.Constant("N"))),
            GemmPolicy.CublasLt => (GemmPath.CublasLt, default),
            GemmPolicy.Cached => Choices.TryGet(ChoiceKey(m, kernel), out var known) ? (known.Path, known.Tile) : (GemmPath.CublasLt, default),
            _ => Choose(m, x, weight, bias, activation, residual, output, kernel, s),
        };
        Execute(path, tile, m, x, weight, bias, activation, residual, output, kernel, s);
        Ran(path, tile, kernel);
    }

    /// <summary>Runs one path (the generated one in <paramref name="tile"/>, default: the template's tile) regardless of the policy (benchmarks and tests compare them).</summary>
    public void RunWith(GemmPath path, CudaTensor x, CudaTensor weight, CudaTensor? bias, Activation activation, CudaTensor? residual,
        CudaTensor output, FusedKernel kernel, CudaStream? stream = null, GemmTile? tile = null)
    {
        int m = Validate(x, weight, bias, activation, residual, output, kernel);
        if (m == 0) return;
        var t = tile ?? GemmTile.Default(kernel.Constant("N"));
        Execute(path, t, m, x, weight, bias, activation, residual, output, kernel, stream ?? _device.DefaultStream);
        Ran(path, t, kernel);
    }

    /// <summary>
    /// The (cache id, source) of each tile of <paramref name="kernel"/> that a first pass under this policy certainly runs, for
    /// <see cref="KernelJit.Precompile"/>: none under cuBLASLt and cached (a remembered choice loads its tile on demand), the
    /// template's tile under generated and fast-run (fast-run compiles the other tiles itself when it decides to time them).
    /// </summary>
    public IReadOnlyList<(string Name, string Source)> Sources(FusedKernel kernel)
    {
        if (Policy is GemmPolicy.CublasLt or GemmPolicy.Cached) return [];
        return [TileSource(kernel, GemmTile.Default(kernel.Constant("N")))];
    }

    /// <summary><paramref name="kernel"/> in <paramref name="tile"/>: its name in the kernel cache and its source.</summary>
    private static (string Name, string Source) TileSource(FusedKernel kernel, GemmTile tile)
    {
        int n = kernel.Constant("N");
        return (tile.IsDefaultFor(n) ? kernel.Name : $"{kernel.Name}_t{tile}", tile.Specialize(kernel.CudaSource, n));
    }

    /// <summary>
    /// Re-pads <paramref name="weight"/>'s padded copy in place after the caller rewrote the weight (from <paramref name="host"/>,
    /// the weight's new elements, when given; else read back from the device). No-op for a weight that has no padded copy.
    /// </summary>
    public void RefreshPaddedWeight(CudaTensor weight, CpuTensor? host = null)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (!_padded.TryGetValue(weight, out var padded)) return;
        using var read = host is null ? weight.ToHost() : null;
        var values = host ?? read!;
        values.Expect("weight", weight.Shape, DType.Float16);
        using var refreshed = GemmWeights.PadColumns(values).Tensor;
        padded.CopyFromHost(refreshed); // same buffer: a captured graph reading it sees the new values
    }

    private void Ran(GemmPath path, GemmTile tile, FusedKernel kernel)
    {
        LastPath = path;
        LastTile = path == GemmPath.Generated ? tile : null;
        LastRunPaddedWeight = path == GemmPath.Generated && kernel.Constant("KW") != kernel.Constant("K");
    }

    /// <summary>The fast-run key: device, shape, epilogue, kernel source and cuBLASLt version.</summary>
    public string ChoiceKey(int m, FusedKernel kernel) => string.Create(CultureInfo.InvariantCulture,
        $"{_device.Architecture} {_device.Name}|m={m}|n={kernel.Constant("N")}|k={kernel.Constant("K")}|act={kernel.Constant("ACT")}|bias={kernel.Constant("HAS_BIAS")}|res={kernel.Constant("HAS_RESIDUAL")}|src={KernelCache.Key(kernel.CudaSource)[..16]}|cublaslt={CublasLt.Version}");

    private (GemmPath, GemmTile) Choose(int m, CudaTensor x, CudaTensor weight, CudaTensor? bias, Activation activation, CudaTensor? residual,
        CudaTensor output, FusedKernel kernel, CudaStream stream)
    {
        var key = ChoiceKey(m, kernel);
        if (Choices.TryGet(key, out var known)) return (known.Path, known.Tile);
        int n = kernel.Constant("N");
        var best = GemmTile.Default(n);
        double generated = Median(() => Execute(GemmPath.Generated, best, m, x, weight, bias, activation, residual, output, kernel, stream), stream);
        double cublas = Median(() => Execute(GemmPath.CublasLt, default, m, x, weight, bias, activation, residual, output, kernel, stream), stream);
        if (generated <= ExploreTiles * cublas)
        {
            // The default tile is close: the other tiles may win. Compile them together (in parallel), then time each.
            var others = GemmTile.Candidates(n).Where(t => t != best).ToList();
            _jit.Precompile(others.Select(t => TileSource(kernel, t)).ToList());
            foreach (var tile in others)
            {
                double us = Median(() => Execute(GemmPath.Generated, tile, m, x, weight, bias, activation, residual, output, kernel, stream), stream);
                if (us < generated) (best, generated) = (tile, us);
            }
        }
        var choice = new GemmChoice(generated <= cublas ? GemmPath.Generated : GemmPath.CublasLt, best, generated, cublas);
        Measurements++;
        Choices.Store(key, choice);
        return (choice.Path, choice.Tile);
    }

    private double Median(Action work, CudaStream stream)
    {
        _hold ??= new StreamHold(_jit);
        return 1000.0 * _hold.MedianMilliseconds(_device, stream, work, WarmupRuns, TimedRuns);
    }

    private void Execute(GemmPath path, GemmTile tile, int m, CudaTensor x, CudaTensor weight, CudaTensor? bias, Activation activation,
        CudaTensor? residual, CudaTensor output, FusedKernel kernel, CudaStream stream)
    {
        if (path == GemmPath.Generated) RunGenerated(tile, m, x, weight, bias, residual, output, kernel, stream);
        else RunCublasLt(x, weight, bias, activation, residual, output, stream);
    }

    private void RunGenerated(GemmTile tile, int m, CudaTensor x, CudaTensor weight, CudaTensor? bias, CudaTensor? residual, CudaTensor output,
        FusedKernel kernel, CudaStream stream)
    {
        int n = kernel.Constant("N"), k = kernel.Constant("K"), kw = kernel.Constant("KW");
        var w = kw == k ? weight : PaddedWeight(weight, stream);
        w.Expect("padded weight", new Shape(n, kw), DType.Float16);
        long blocks = tile.Blocks(m, n);
        if (blocks > int.MaxValue) throw new FusionException($"{kernel.Name}: m = {m} needs {blocks} blocks of tile {tile}, more than one launch takes");
        var args = new KernelArguments().Pointer(x).Pointer(w).Pointer(bias?.Pointer ?? 0).Pointer(residual?.Pointer ?? 0).Pointer(output).Int(m);
        Load(kernel, tile).Launch(stream, (int)blocks, tile.Threads, args);
    }

    /// <summary>
    /// cuBLASLt: BIAS/RELU_BIAS/GELU_BIAS epilogues (an activation without a bias gets a zero bias); a residual is C with beta = 1
    /// when there is no activation, else a separate add after the product (cuBLASLt applies its activation after C).
    /// </summary>
    private void RunCublasLt(CudaTensor x, CudaTensor weight, CudaTensor? bias, Activation activation, CudaTensor? residual, CudaTensor output,
        CudaStream stream)
    {
        int n = weight.Shape[0];
        var epilogue = activation switch
        {
            Activation.Relu => MatmulEpilogue.ReluBias,
            Activation.Gelu => MatmulEpilogue.GeluBias,
            _ => bias is null ? MatmulEpilogue.None : MatmulEpilogue.Bias,
        };
        var b = epilogue == MatmulEpilogue.None ? null : bias ?? ZeroBias(n);
        if (residual is null || activation == Activation.None)
        {
            _cublas.Linear(x, weight, b, output, epilogue, stream, residual);
            return;
        }
        _cublas.Linear(x, weight, b, output, epilogue, stream);
        AddInPlace(output, residual, stream);
    }

    /// <summary>The [N, KW] zero-padded copy of <paramref name="weight"/>, made on first use (load time) and kept per weight object.</summary>
    private CudaTensor PaddedWeight(CudaTensor weight, CudaStream stream)
    {
        if (_padded.TryGetValue(weight, out var padded)) return padded;
        ReleaseDisposedWeights();
        stream.Synchronize(); // the weight may have been written on this stream; ToHost reads on the default stream
        using (var host = weight.ToHost())
        using (var tensor = GemmWeights.PadColumns(host).Tensor)
            padded = CudaTensor.FromHost(_device, tensor);
        _padded.Add(weight, padded);
        PaddedWeights++;
        return padded;
    }

    /// <summary>Frees the padded copies of weights the caller has disposed (their keys can no longer be passed in).</summary>
    private void ReleaseDisposedWeights()
    {
        var dead = new List<(CudaTensor Weight, CudaTensor Padded)>();
        foreach (var (weight, padded) in _padded)
            if (weight.IsDisposed) dead.Add((weight, padded));
        foreach (var (weight, padded) in dead)
        {
            _padded.Remove(weight);
            padded.Dispose();
        }
    }

    private void AddInPlace(CudaTensor output, CudaTensor residual, CudaStream stream)
    {
        if (_add is null)
        {
            _addModule = _jit.LoadShipped("add_half.cu");
            _add = _addModule.GetKernel("fusion_add_half");
        }
        const int threads = 256;
        long blocks = Math.Min((output.ElementCount + threads - 1) / threads, 65536);
        _add.Launch(stream, (int)blocks, threads, new KernelArguments().Pointer(output).Pointer(residual).Pointer(output).Long(output.ElementCount));
    }

    private CudaTensor ZeroBias(int n)
    {
        if (!_zeroBiases.TryGetValue(n, out var zero))
        {
            zero = CudaTensor.Empty(_device, DType.Float16, n);
            zero.FillBytes(0);
            _zeroBiases[n] = zero;
        }
        return zero;
    }

    /// <summary>The kernel in <paramref name="tile"/>, compiled (or read from the kernel cache) once per kernel source and tile.</summary>
    private CudaKernel Load(FusedKernel kernel, GemmTile tile)
    {
        var id = (kernel.Name, tile); // runs on every launch: the name and source are made only on a miss
        if (_kernels.TryGetValue(id, out var entry) && (ReferenceEquals(entry.Source, kernel.CudaSource) || entry.Source == kernel.CudaSource))
            return entry.Kernel;
        var (name, source) = TileSource(kernel, tile);
        var module = _jit.Load(name, source);
        var function = module.GetKernel(kernel.Name);
        if (_kernels.Remove(id, out var stale)) stale.Module.Dispose();
        _kernels[id] = (kernel.CudaSource, module, function);
        return function;
    }

    /// <summary>Checks operands against the kernel's constants; returns m (rows of x).</summary>
    private static int Validate(CudaTensor x, CudaTensor weight, CudaTensor? bias, Activation activation, CudaTensor? residual, CudaTensor output,
        FusedKernel kernel)
    {
        if (kernel.Pattern != Pattern) throw new FusionException($"kernel {kernel.Name} is a {kernel.Pattern} kernel, not {Pattern}");
        int n = kernel.Constant("N"), k = kernel.Constant("K"), kw = kernel.Constant("KW");
        if (kw != GemmWeights.RowStride(k))
            throw new FusionException($"kernel {kernel.Name} reads the weight with row stride KW = {kw}, expected {GemmWeights.RowStride(k)} (K = {k} rounded up to a multiple of 8)");
        if (kernel.Constant("ACT") != (int)activation)
            throw new FusionException($"kernel {kernel.Name} applies activation {(Activation)kernel.Constant("ACT")}, the call asks for {activation}");
        if ((kernel.Constant("HAS_BIAS") != 0) != (bias is not null))
            throw new FusionException($"kernel {kernel.Name} was specialized {(bias is null ? "with" : "without")} a bias, the call passes {(bias is null ? "none" : "one")}");
        if ((kernel.Constant("HAS_RESIDUAL") != 0) != (residual is not null))
            throw new FusionException($"kernel {kernel.Name} was specialized {(residual is null ? "with" : "without")} a residual, the call passes {(residual is null ? "none" : "one")}");
        weight.Expect("weight", new Shape(n, k), DType.Float16);
        if (x.Rank < 1 || x.Shape[-1] != k) throw new TensorMismatchException("x", $"[..., {k}] float16", x.ToString());
        x.Expect("x", x.Shape, DType.Float16);
        var outShape = x.Shape.With(-1, n);
        output.Expect("output", outShape, DType.Float16);
        bias?.Expect("bias", new Shape(n), DType.Float16);
        residual?.Expect("residual", outShape, DType.Float16);
        long m = x.ElementCount / k;
        if (m > int.MaxValue) throw new TensorMismatchException("x", $"at most {int.MaxValue} rows", m.ToString(CultureInfo.InvariantCulture));
        if (x.Pointer % 16 != 0 || weight.Pointer % 16 != 0 || output.Pointer % 4 != 0 || (residual?.Pointer ?? 0) % 4 != 0)
            throw new FusionException($"{kernel.Name}: x and weight must be 16-byte aligned, output and residual 4-byte aligned");
        return (int)m;
    }

    public void Dispose()
    {
        foreach (var entry in _kernels.Values) entry.Module.Dispose();
        _kernels.Clear();
        _addModule?.Dispose();
        _hold?.Dispose();
        foreach (var zero in _zeroBiases.Values) zero.Dispose();
        _zeroBiases.Clear();
        foreach (var (_, padded) in _padded) padded.Dispose();
        _padded.Clear();
        if (_ownsCublas) _cublas.Dispose();
    }
}
