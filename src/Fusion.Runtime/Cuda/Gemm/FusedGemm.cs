using System.Globalization;

namespace Fusion.Cuda.Gemm;

/// <summary>
/// Runs a fused linear layer out[m, N] = act(x · wᵀ + bias) + residual (x [..., K] flattened to m rows, all fp16) either
/// through the model's generated <c>gemm_bias_act</c> kernel or through cuBLASLt, chosen per (m, N, K, epilogue):
/// under <see cref="GemmPolicy.FastRun"/> the first call on a shape times both paths on the caller's tensors
/// (CUDA events, 2 warm-ups, median of 5) and keeps the faster in a <see cref="GemmChoiceCache"/> in the kernel cache
/// folder, keyed by device, shape, epilogue, kernel source and cuBLASLt version. That first call synchronizes the
/// stream, so run a shape once before capturing it in a CUDA graph. Modules are compiled through the
/// <see cref="KernelJit"/> (disk-cached) and kept loaded per kernel.
/// </summary>
public sealed class FusedGemm : IDisposable
{
    public const string Pattern = "gemm_bias_act";

    /// <summary>Rows per block of the template (kBM) and its threads per block (kThreads).</summary>
    private const int BlockRows = 128, BlockThreads = 128;
    private const int WarmupRuns = 2, TimedRuns = 5;

    private readonly CudaDevice _device;
    private readonly KernelJit _jit;
    private readonly CublasLt _cublas;
    private readonly bool _ownsCublas;
    private readonly Dictionary<string, (string Source, CudaModule Module, CudaKernel Kernel)> _kernels = new(StringComparer.Ordinal);
    private readonly Dictionary<int, CudaTensor> _zeroBiases = [];
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

    /// <summary>The column tile of the template for width <paramref name="n"/> (its kBN).</summary>
    public static int BlockColumns(int n) => n <= 32 ? 32 : n <= 64 ? 64 : 96;

    /// <summary>The name the generator gives a specialization, e.g. <c>gemm_bias_gelu_res_n384_k96</c>.</summary>
    public static string KernelName(int n, int k, Activation activation, bool hasBias, bool hasResidual)
        => string.Create(CultureInfo.InvariantCulture,
            $"gemm{(hasBias ? "_bias" : "")}{activation switch { Activation.Relu => "_relu", Activation.Gelu => "_gelu", _ => "" }}{(hasResidual ? "_res" : "")}_n{n}_k{k}");

    /// <summary>The constants a <c>gemm_bias_act</c> specialization takes.</summary>
    public static IReadOnlyDictionary<string, int> Constants(int n, int k, Activation activation, bool hasBias, bool hasResidual) => new Dictionary<string, int>
    {
        ["N"] = n,
        ["K"] = k,
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
        var path = Policy switch
        {
            GemmPolicy.Generated => GemmPath.Generated,
            GemmPolicy.CublasLt => GemmPath.CublasLt,
            _ => Choose(m, x, weight, bias, activation, residual, output, kernel, s),
        };
        Execute(path, m, x, weight, bias, activation, residual, output, kernel, s);
        LastPath = path;
    }

    /// <summary>Runs one path regardless of the policy (benchmarks compare them).</summary>
    public void RunWith(GemmPath path, CudaTensor x, CudaTensor weight, CudaTensor? bias, Activation activation, CudaTensor? residual,
        CudaTensor output, FusedKernel kernel, CudaStream? stream = null)
    {
        int m = Validate(x, weight, bias, activation, residual, output, kernel);
        if (m == 0) return;
        Execute(path, m, x, weight, bias, activation, residual, output, kernel, stream ?? _device.DefaultStream);
        LastPath = path;
    }

    /// <summary>The fast-run key: device, shape, epilogue, kernel source and cuBLASLt version.</summary>
    public string ChoiceKey(int m, FusedKernel kernel) => string.Create(CultureInfo.InvariantCulture,
        $"{_device.Architecture} {_device.Name}|m={m}|n={kernel.Constant("N")}|k={kernel.Constant("K")}|act={kernel.Constant("ACT")}|bias={kernel.Constant("HAS_BIAS")}|res={kernel.Constant("HAS_RESIDUAL")}|src={KernelCache.Key(kernel.CudaSource)[..16]}|cublaslt={CublasLt.Version}");

    private GemmPath Choose(int m, CudaTensor x, CudaTensor weight, CudaTensor? bias, Activation activation, CudaTensor? residual,
        CudaTensor output, FusedKernel kernel, CudaStream stream)
    {
        var key = ChoiceKey(m, kernel);
        if (Choices.TryGet(key, out var known)) return known.Path;
        double generated = Median(() => Execute(GemmPath.Generated, m, x, weight, bias, activation, residual, output, kernel, stream), stream);
        double cublas = Median(() => Execute(GemmPath.CublasLt, m, x, weight, bias, activation, residual, output, kernel, stream), stream);
        var choice = new GemmChoice(generated <= cublas ? GemmPath.Generated : GemmPath.CublasLt, generated, cublas);
        Measurements++;
        Choices.Store(key, choice);
        return choice.Path;
    }

    private double Median(Action work, CudaStream stream)
    {
        for (int i = 0; i < WarmupRuns; i++) work();
        using var start = new CudaEvent(_device);
        using var end = new CudaEvent(_device);
        var times = new double[TimedRuns];
        for (int i = 0; i < TimedRuns; i++)
        {
            start.Record(stream);
            work();
            end.Record(stream);
            times[i] = CudaEvent.ElapsedMilliseconds(start, end) * 1000.0;
        }
        Array.Sort(times);
        return times[TimedRuns / 2];
    }

    private void Execute(GemmPath path, int m, CudaTensor x, CudaTensor weight, CudaTensor? bias, Activation activation, CudaTensor? residual,
        CudaTensor output, FusedKernel kernel, CudaStream stream)
    {
        if (path == GemmPath.Generated) RunGenerated(m, x, weight, bias, residual, output, kernel, stream);
        else RunCublasLt(x, weight, bias, activation, residual, output, stream);
    }

    private void RunGenerated(int m, CudaTensor x, CudaTensor weight, CudaTensor? bias, CudaTensor? residual, CudaTensor output, FusedKernel kernel,
        CudaStream stream)
    {
        int n = kernel.Constant("N");
        long blocks = (long)((m + BlockRows - 1) / BlockRows) * ((n + BlockColumns(n) - 1) / BlockColumns(n));
        if (blocks > int.MaxValue) throw new FusionException($"{kernel.Name}: m = {m} needs {blocks} blocks, more than one launch takes");
        var args = new KernelArguments().Pointer(x).Pointer(weight).Pointer(bias?.Pointer ?? 0).Pointer(residual?.Pointer ?? 0).Pointer(output).Int(m);
        Load(kernel).Launch(stream, (int)blocks, BlockThreads, args);
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

    private CudaKernel Load(FusedKernel kernel)
    {
        if (_kernels.TryGetValue(kernel.Name, out var entry) && (ReferenceEquals(entry.Source, kernel.CudaSource) || entry.Source == kernel.CudaSource))
            return entry.Kernel;
        var module = _jit.Load(kernel.Name, kernel.CudaSource);
        var function = module.GetKernel(kernel.Name);
        if (_kernels.Remove(kernel.Name, out var stale)) stale.Module.Dispose();
        _kernels[kernel.Name] = (kernel.CudaSource, module, function);
        return function;
    }

    /// <summary>Checks operands against the kernel's constants; returns m (rows of x).</summary>
    private static int Validate(CudaTensor x, CudaTensor weight, CudaTensor? bias, Activation activation, CudaTensor? residual, CudaTensor output,
        FusedKernel kernel)
    {
        if (kernel.Pattern != Pattern) throw new FusionException($"kernel {kernel.Name} is a {kernel.Pattern} kernel, not {Pattern}");
        int n = kernel.Constant("N"), k = kernel.Constant("K");
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
        foreach (var zero in _zeroBiases.Values) zero.Dispose();
        _zeroBiases.Clear();
        if (_ownsCublas) _cublas.Dispose();
    }
}
