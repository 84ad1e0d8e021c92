using System.Globalization;
using System.Runtime.CompilerServices;

namespace Fusion.Cuda.Gemm;

/// <summary>
/// Runs a Linear layer's GEMM with its generated epilogue (<see cref="GemmKernel"/>: x [..., K] flattened to m rows, weight
/// [N, K], all fp16) through one of two paths, chosen per (m, kernel): the GEMM template with the epilogue printed into it, or
/// cuBLASLt, which either does the epilogue itself (<see cref="GemmKernel.Cublas"/>: bias, relu/gelu, residual) or writes
/// the product for the epilogue kernel (<see cref="GemmKernel.Epilogue"/>) to finish. Under <see cref="GemmPolicy.FastRun"/>
/// the first call on a shape times cuBLASLt (each algorithm its heuristic offers, <see cref="CublasLt.Candidates"/>) and the template in
/// its default tile, in its other thin <see cref="GemmTile.Candidates"/> when the default one comes close (<see cref="ExploreTiles"/>)
/// and in its wide tiles no wider than N (<see cref="GemmTile.WideTiles"/>) in any case, and on compute capability 9.0 in its Hopper
/// tiles no wider than N (<see cref="GemmTile.HopperTiles"/>, warpgroup MMA, compiled for sm_90a; where x is read by 16-byte chunks) and its Hopper
/// TMA tiles (<see cref="GemmTile.HopperTmaTiles"/>, where x is a stored matrix), on the caller's tensors (CUDA events behind a
/// <see cref="StreamHold"/>, so the GPU time alone; 2 warm-ups, median of 5) and keeps the fastest in a
/// <see cref="GemmChoiceCache"/> in the kernel cache folder, keyed by device, shape, kernel source and cuBLASLt version
/// (<see cref="GemmPolicy.Cached"/> uses such a decision where one exists, else cuBLASLt). That first call synchronizes the
/// stream, so run a shape once before capturing it in a CUDA graph. Modules are compiled through the <see cref="KernelJit"/>
/// (disk-cached) and kept loaded per kernel and tile. The template reads the weight with row stride KW (K rounded up to a
/// multiple of 8) so its loads stay 16-byte vectors: when K % 8 != 0 the first template run on a weight tensor makes a
/// zero-padded [N, KW] copy (through the host, synchronizing: run it once before capturing a graph) and keeps it for that
/// tensor object; cuBLASLt gets the unpadded weight. A caller that rewrites a weight in place calls
/// <see cref="RefreshPaddedWeight"/> (CudaBackend.Param does). Thread-safe: launches from several threads (each on its own
/// stream) share the loaded modules and the padded copies; a measurement holds the others back until it is done, so measure
/// before running concurrently. Work runs on the stream given, else on x's.
/// An <see cref="GemmKernel.Int8"/> kernel (x and weight int8, sm_80 or newer) runs on the template under every policy: cuBLASLt has
/// no per-channel dequantize, so fast-run only chooses among the template's tiles (and its ILGPU version, as for fp16; one a model
/// generated has one). Its weight is padded to KW (K rounded up to 16) as an fp16 one is.
/// An <see cref="GemmKernel.Fp8"/> kernel (x and weight E4M3, sm_89 or newer) runs on cuBLASLt under every policy (it has no
/// template): its scales, bias, activation, residual and output quantize in cuBLASLt's epilogue, or a float32 product and the
/// epilogue kernel.
/// </summary>
public sealed class FusedGemm : IDisposable
{
    public const string Pattern = Compiler.GemmSource.Pattern;

    private const int WarmupRuns = 2, TimedRuns = 5;

    /// <summary>
    /// Fast-run times the other thin tiles only when the default tile is within this factor of cuBLASLt: on the H100's Swin-T shapes
    /// the best thin tile was at most 1.6x faster than the default one (docs/perf.md), so a default tile further behind leaves cuBLASLt
    /// the winner, and skipping the rest saves compiling three more kernels per shape on a cold start. The wide tiles are another
    /// family (built for the shapes where the thin one is far behind), so they are timed regardless.
    /// </summary>
    private const double ExploreTiles = 1.6;

    private readonly CudaDevice _device;
    private readonly KernelJit _jit;
    private readonly CublasLt _cublas;
    private readonly bool _ownsCublas;
    private readonly Generated.GeneratedKernelLauncher _epilogues;
    private readonly bool _ownsEpilogues;
    private readonly Dictionary<(string Kernel, GemmTile Tile, bool IoHalf), (string Source, CudaModule Module, CudaKernel Kernel)> _kernels = [];
    // Keyed by the generated method itself: two models' GEMMs of the same name are different methods (a name alone would hand one
    // the other's kernel).
    private readonly Generated.IlgpuMethodModules _ilgpu;
    private readonly Action<string> _warn;
    private readonly Dictionary<int, CudaTensor> _zeroBiases = [];
    private CudaTensor? _unitScale;
    private readonly HashSet<string> _fp8Refused = [];
    // Keyed by the weight object: the backend's parameter copies keep their identity (and address) across refreshes,
    // so a captured graph that read a padded copy keeps reading the same buffer, refreshed in place.
    private readonly ConditionalWeakTable<CudaTensor, CudaTensor> _padded = new();
    private readonly Lock _lock = new();
    private StreamHold? _hold;
    private CudaModule? _addModule;
    private CudaKernel? _add;

    public FusedGemm(CudaDevice device, KernelJit jit, GemmPolicy? policy = null, CublasLt? cublas = null, string? choiceDirectory = null,
        Action<string>? warn = null, Generated.GeneratedKernelLauncher? epilogues = null)
    {
        _device = device;
        _jit = jit;
        Policy = policy ?? GemmPolicies.FromEnvironment();
        _ownsCublas = cublas is null;
        _cublas = cublas ?? new CublasLt(device);
        _ownsEpilogues = epilogues is null;
        _epilogues = epilogues ?? new Generated.GeneratedKernelLauncher(jit);
        Choices = new GemmChoiceCache(choiceDirectory ?? jit.Cache.Directory, warn);
        _warn = warn ?? _epilogues.Warn;
        _ilgpu = new Generated.IlgpuMethodModules(jit, _warn);
    }

    public GemmPolicy Policy { get; }

    /// <summary>
    /// Whether the template reads its staged accumulators back four columns a lane where the epilogue offers it (<see cref="EpilogueQuads"/>;
    /// by default $FUSION_GEMM_QUADS), else a column pair a lane. The same results either way.
    /// </summary>
    public bool Quads { get; init; } = EpilogueQuads.Enabled;

    /// <summary>
    /// Whether the template's epilogue computes GELU in the tanh form (<see cref="EpilogueGelu"/>; by default $FUSION_GEMM_GELU), as
    /// cuBLASLt's GELU epilogue does, else by erf.
    /// </summary>
    public bool GeluTanh { get; init; } = EpilogueGelu.Tanh;

    public GemmChoiceCache Choices { get; }

    /// <summary>How many shapes this instance has timed (fast-run measurements).</summary>
    public int Measurements { get; private set; }

    /// <summary>The path the last <see cref="Run"/> took.</summary>
    public GemmPath? LastPath { get; private set; }

    /// <summary>The template's tile in the last <see cref="Run"/> (null when it took cuBLASLt).</summary>
    public GemmTile? LastTile { get; private set; }

    /// <summary>Whether the last <see cref="Run"/> that took the template ran its ILGPU version (<see cref="RunsIlgpu"/>).</summary>
    public bool LastRanIlgpu { get; private set; }

    /// <summary>Whether the last <see cref="Run"/> fed the template a zero-padded [N, KW] copy of the weight (K % 8 != 0, int8: K % 16 != 0).</summary>
    public bool LastRunPaddedWeight { get; private set; }

    /// <summary>Whether the last cuBLASLt <see cref="Run"/> finished with the epilogue kernel (cuBLASLt had no epilogue for it).</summary>
    public bool LastRunUsedEpilogueKernel { get; private set; }

    /// <summary>How many padded weight copies this instance has made (one per weight tensor with K != KW).</summary>
    public int PaddedWeights { get; private set; }

    /// <summary>
    /// outputs = epilogue(x·wᵀ, epilogueInputs…) through the path the policy (or fast-run) picks. <paramref name="epilogueInputs"/> and
    /// <paramref name="outputs"/> are the epilogue kernel's buffers other than "acc", in order.
    /// </summary>
    public void Run(GemmKernel kernel, CudaTensor x, CudaTensor weight, IReadOnlyList<CudaTensor> epilogueInputs, IReadOnlyList<CudaTensor> outputs,
        int batch, DType io, CudaStream? stream = null)
    {
        int m = Validate(kernel, x, weight);
        if (m == 0) return;
        var s = stream ?? x.Stream;
        // algorithm: which of the cuBLASLt heuristic's algorithms (0, its first guess, unless fast-run timed them).
        var (path, tile, ilgpu, algorithm) = Policy switch
        {
            _ when kernel.Fp8 => (GemmPath.CublasLt, default, false, 0),
            // cuBLASLt cannot run an int8 kernel's epilogue: where a policy would take it, the template's default tile runs (its ILGPU
            // version under FUSION_KERNELS=ilgpu, as for fp16).
            GemmPolicy.Generated or GemmPolicy.CublasLt when kernel.Int8 => (GemmPath.Generated, GemmTile.Default(kernel.N), RunsIlgpu(kernel, GemmTile.Default(kernel.N), m, batch), 0),
            GemmPolicy.Cached when kernel.Int8 => Choices.TryGet(ChoiceKey(m, kernel), out var tiled) && tiled.Path == GemmPath.Generated
                ? (GemmPath.Generated, tiled.Tile, tiled.Ilgpu && IlgpuFits(kernel, tiled.Tile, m, batch), 0)
                : (GemmPath.Generated, GemmTile.Default(kernel.N), RunsIlgpu(kernel, GemmTile.Default(kernel.N), m, batch), 0),
            GemmPolicy.Generated => (GemmPath.Generated, GemmTile.Default(kernel.N), RunsIlgpu(kernel, GemmTile.Default(kernel.N), m, batch), 0),
            GemmPolicy.CublasLt => (GemmPath.CublasLt, default, false, 0),
            GemmPolicy.Cached => Choices.TryGet(ChoiceKey(m, kernel), out var known)
                ? (known.Path, known.Tile, known.Ilgpu && IlgpuFits(kernel, known.Tile, m, batch), known.Algorithm)
                : (GemmPath.CublasLt, default, false, 0),
            _ => Choose(m, kernel, x, weight, epilogueInputs, outputs, batch, io, s),
        };
        // A remembered Hopper tile this kernel cannot take (an edited choice file: they are keyed by device) runs the default tile.
        if (!tile.Runs(kernel, _device.ComputeCapability)) tile = GemmTile.Default(kernel.N);
        try
        {
            Execute(path, tile, ilgpu, algorithm, m, kernel, x, weight, epilogueInputs, outputs, batch, io, s);
        }
        catch (ArgumentOutOfRangeException e) when (path == GemmPath.CublasLt && algorithm > 0)
        {
            // A remembered algorithm this cuBLASLt does not offer for the shape (a choice file edited or written by another set-up;
            // cuBLASLt refuses the index before running anything): the first guess runs, and the choice is repaired.
            _warn($"{kernel.Name}: the remembered cuBLASLt algorithm {algorithm} is not offered here ({e.Message.Split('\n')[0]}); running cuBLASLt's first guess, and remembering that");
            var key = ChoiceKey(m, kernel);
            if (Choices.TryGet(key, out var stale)) Choices.Store(key, stale with { Algorithm = 0 });
            Execute(path, tile, ilgpu, 0, m, kernel, x, weight, epilogueInputs, outputs, batch, io, s);
        }
        Ran(path, tile, kernel, x, outputs);
    }

    /// <summary>Runs one path (the template in <paramref name="tile"/>, default: its own tile) regardless of the policy (benchmarks and tests compare them).</summary>
    public void RunWith(GemmPath path, GemmKernel kernel, CudaTensor x, CudaTensor weight, IReadOnlyList<CudaTensor> epilogueInputs, IReadOnlyList<CudaTensor> outputs,
        int batch, DType io, CudaStream? stream = null, GemmTile? tile = null)
    {
        int m = Validate(kernel, x, weight);
        if (path == GemmPath.CublasLt && kernel.Int8)
            throw new FusionException($"{kernel.Name} is an int8 GEMM: it runs on the template only (cuBLASLt has no per-channel dequantize epilogue)");
        if (path == GemmPath.Generated && kernel.Fp8)
            throw new FusionException($"{kernel.Name} is an FP8 GEMM: it runs on cuBLASLt only (it has no template)");
        if (tile is { } asked && !asked.Runs(kernel, _device.ComputeCapability))
            throw new FusionException(asked.Tma
                ? $"{kernel.Name}: the Hopper TMA tile {asked} runs on compute capability 9.0 with x a stored matrix (a Linear's input or a 1 × 1 stride-1 unpadded convolution's image) of rows a multiple of 16 bytes; {_device.Name} is {_device.Architecture}, K = {kernel.K}{(kernel.Conv is { } c ? $", a {c.Kernel} × {c.Kernel} convolution of stride {c.Stride}, padding {c.Padding}" : "")}"
                : $"{kernel.Name}: the Hopper tile {asked} runs on compute capability 9.0 with x read by 16-byte chunks; {_device.Name} is {_device.Architecture}, K = {kernel.K}");
        if (m == 0) return;
        var t = tile ?? GemmTile.Default(kernel.N);
        Execute(path, t, RunsIlgpu(kernel, t, m, batch), 0, m, kernel, x, weight, epilogueInputs, outputs, batch, io, stream ?? x.Stream);
        Ran(path, t, kernel, x, outputs);
    }

    /// <summary>
    /// The (cache name, source, options) of each variant of <paramref name="kernel"/> a first pass under this policy certainly runs, for
    /// <see cref="KernelJit.Precompile(IReadOnlyCollection{ValueTuple{string, string, IReadOnlyList{string}}})"/>: the epilogue kernel
    /// when cuBLASLt may need it, the template's default tile under generated and fast-run (fast-run compiles the other tiles itself
    /// when it decides to time them).
    /// </summary>
    public IReadOnlyList<(string Name, string Source, IReadOnlyList<string> Options)> Sources(GemmKernel kernel)
    {
        var sources = new List<(string, string, IReadOnlyList<string>)>();
        // Under FUSION_KERNELS=ilgpu the epilogue runs its ILGPU version, which the launcher precompiles itself.
        bool ilgpuEpilogue = _epilogues.Language == Generated.KernelLanguage.Ilgpu && kernel.Epilogue.IlgpuKernels is not null;
        if ((kernel.Cublas is null || kernel.Cublas.ToIo) && (Policy != GemmPolicy.Generated || kernel.Fp8) && !ilgpuEpilogue && !kernel.Int8) sources.AddRange(Generated.GeneratedKernelLauncher.Variants(kernel.Epilogue));
        // Under FUSION_KERNELS=ilgpu the template's default tile runs its ILGPU version (PrecompileIlgpu). An int8 kernel runs its
        // default tile under every policy (until fast-run or a cached choice picks another).
        bool ilgpuTemplate = _epilogues.Language == Generated.KernelLanguage.Ilgpu && kernel.IlgpuKernels is not null;
        if ((Policy is GemmPolicy.Generated or GemmPolicy.FastRun || kernel.Int8) && !ilgpuTemplate && !kernel.Fp8)
            foreach (var io in kernel.Epilogue.IoTypes)
            {
                var (name, source, options, _) = TileSource(kernel, GemmTile.Default(kernel.N), io == DType.Float16);
                sources.Add((name, source, options));
            }
        return sources;
    }

    /// <summary>
    /// Compiles (or loads from the cache) the ILGPU template of every io variant of <paramref name="kernels"/> that has one, in parallel,
    /// where it may run: under <see cref="Generated.KernelLanguage.Ilgpu"/> with a policy that runs the template, and under
    /// <see cref="Generated.KernelLanguage.Auto"/> with fast-run (there a kernel that does not compile is a warning). Returns how many.
    /// </summary>
    public int PrecompileIlgpu(IEnumerable<GemmKernel> kernels)
    {
        var language = _epilogues.Language;
        bool may = language == Generated.KernelLanguage.Ilgpu ? Policy is GemmPolicy.Generated or GemmPolicy.FastRun
            : language == Generated.KernelLanguage.Auto && Policy == GemmPolicy.FastRun;
        if (!may) return 0;
        var variants = kernels.Where(k => k.IlgpuKernels is not null).DistinctBy(k => k.Name)
            .SelectMany(k => k.Epilogue.IoTypes.Select(io => (Kernel: k, Io: io))).ToList();
        ParallelCompile.ForEach(variants, v =>
        {
            if (language == Generated.KernelLanguage.Auto) TryLoadIlgpu(v.Kernel, v.Io);
            else LoadIlgpu(v.Kernel, v.Io);
        });
        return variants.Count;
    }

    /// <summary>
    /// Whether the template runs its ILGPU version: under <see cref="Generated.KernelLanguage.Ilgpu"/>, for a GEMM a model generated,
    /// in the default tile (the one it is printed for), where 32-bit indices reach every element (else the NVRTC template runs).
    /// </summary>
    public bool RunsIlgpu(GemmKernel kernel, GemmTile tile, int m, int batch) =>
        _epilogues.Language == Generated.KernelLanguage.Ilgpu && IlgpuFits(kernel, tile, m, batch);

    /// <summary>
    /// Whether the ILGPU template can run this GEMM: a generated one, in the default tile, with 32-bit indices reaching every element (of a
    /// convolution's image too, which a stride larger than 1 makes larger than its im2col matrix).
    /// </summary>
    private static bool IlgpuFits(GemmKernel kernel, GemmTile tile, int m, int batch) =>
        kernel.IlgpuKernels is not null && tile.IsDefaultFor(kernel.N)
        && (long)m * kernel.KW < Generated.GeneratedKernelLauncher.Index64Elements && !Generated.GeneratedKernelLauncher.NeedsIndex64(kernel.Epilogue, batch)
        && (kernel.Conv is not { } conv
            || (long)(m / (conv.OutHeight * conv.OutWidth)) * conv.Height * conv.Width * conv.Channels < Generated.GeneratedKernelLauncher.Index64Elements);

    /// <summary>Compiles (or finds in the kernel cache) the template of <paramref name="kernel"/> in each of <paramref name="tiles"/> for <paramref name="io"/>, in parallel.</summary>
    public void PrecompileTiles(GemmKernel kernel, IEnumerable<GemmTile> tiles, DType io) => PrecompileTiles(tiles.Select(t => (kernel, t)), io);

    /// <summary>Compiles (or finds in the kernel cache) each (kernel, tile) of the template for <paramref name="io"/>, all in parallel.</summary>
    public void PrecompileTiles(IEnumerable<(GemmKernel Kernel, GemmTile Tile)> variants, DType io) =>
        _jit.Precompile(variants.Select(v => TileSource(v.Kernel, v.Tile, v.Kernel.Epilogue.UsesIoType && io == DType.Float16)).Distinct().ToList());

    /// <summary>
    /// <paramref name="kernel"/> in <paramref name="tile"/>: its name in the kernel cache, its source, its options and the architecture it
    /// needs (sm_90a for a Hopper tile; null: the device's).
    /// </summary>
    private (string Name, string Source, IReadOnlyList<string> Options, string? Architecture) TileSource(GemmKernel kernel, GemmTile tile, bool ioHalf)
    {
        var (io, options) = Generated.IoVariant.Of(kernel.Epilogue.UsesIoType, ioHalf);
        return ((tile.IsDefaultFor(kernel.N) ? kernel.Name : $"{kernel.Name}_t{tile}") + io,
            EpilogueQuads.Apply(tile.Specialize(kernel.CudaSource, kernel.N), Quads), EpilogueGelu.Apply(options, GeluTanh),
            tile.Wgmma ? GemmTile.HopperArchitecture : null);
    }

    /// <summary>
    /// Re-pads <paramref name="weight"/>'s padded copy in place after the caller rewrote the weight (from <paramref name="host"/>,
    /// the weight's new elements, when given; else read back from the device). No-op for a weight that has no padded copy.
    /// </summary>
    public void RefreshPaddedWeight(CudaTensor weight, CpuTensor? host = null)
    {
        ArgumentNullException.ThrowIfNull(weight);
        CudaTensor? padded;
        lock (_lock)
        {
            if (!_padded.TryGetValue(weight, out padded)) return;
        }
        using var read = host is null ? weight.ToHost() : null;
        var values = host ?? read!;
        values.Expect("weight", weight.Shape, weight.DType);
        using var refreshed = GemmWeights.PadColumns(values).Tensor;
        padded.CopyFromHost(refreshed); // same buffer: a captured graph reading it sees the new values
    }

    private void Ran(GemmPath path, GemmTile tile, GemmKernel kernel, CudaTensor x, IReadOnlyList<CudaTensor> outputs)
    {
        LastPath = path;
        LastTile = path == GemmPath.Generated ? tile : null;
        LastRunPaddedWeight = path == GemmPath.Generated && kernel.KW != kernel.K;
        LastRunUsedEpilogueKernel = path == GemmPath.CublasLt && !CublasFinishes(kernel, x, outputs);
    }

    /// <summary>
    /// The fast-run key: device, shape, kernel source (which holds the epilogue) and the shipped headers it includes, cuBLASLt version
    /// and how many of its algorithms are tried (a stored algorithm is an index into that list); and, where the template has an
    /// ILGPU version that ilgpu or auto may run, the language and what compiles it (a decision among NVRTC tiles says nothing of it).
    /// </summary>
    public string ChoiceKey(int m, GemmKernel kernel) => string.Create(CultureInfo.InvariantCulture,
        $"{_device.Architecture} {_device.Name}|m={m}|n={kernel.N}|k={kernel.K}|src={kernel.SourceHash}|hdr={KernelJit.HeadersKey}|cublaslt={CublasLt.Version}|algos={_cublas.Candidates}")
        + (_epilogues.Language != Generated.KernelLanguage.Nvrtc && kernel.IlgpuKernels is not null
            ? $"|kernels={Generated.KernelLanguages.Name(_epilogues.Language)}|ilgpu={Generated.IlgpuKernelJit.CompilerKey}" : "")
        + (SplitK.Enabled ? "|splitk=on" : "") + (Quads ? "" : "|quads=off") + (GeluTanh ? "|gelu=tanh" : "");

    /// <summary>
    /// Fast-run: times the template's default tile (its ILGPU version under <see cref="Generated.KernelLanguage.Ilgpu"/>) and each algorithm
    /// cuBLASLt's heuristic offers, then the NVRTC template's other tiles when the default one comes close to the best of cuBLASLt, and
    /// under <see cref="Generated.KernelLanguage.Auto"/> the ILGPU version too; keeps the fastest.
    /// </summary>
    private (GemmPath, GemmTile, bool Ilgpu, int Algorithm) Choose(int m, GemmKernel kernel, CudaTensor x, CudaTensor weight, IReadOnlyList<CudaTensor> epilogueInputs,
        IReadOnlyList<CudaTensor> outputs, int batch, DType io, CudaStream stream)
    {
        var key = ChoiceKey(m, kernel);
        using var held = _lock.EnterScope(); // one measurement at a time: kernels of other threads would distort it, and it is made once per shape
        if (Choices.TryGet(key, out var known) && (!kernel.Int8 || known.Path == GemmPath.Generated))
            return (known.Path, known.Tile, known.Ilgpu && IlgpuFits(kernel, known.Tile, m, batch), known.Algorithm);
        var best = GemmTile.Default(kernel.N);
        bool ilgpu = RunsIlgpu(kernel, best, m, batch);
        double generated = Median(() => Execute(GemmPath.Generated, best, ilgpu, 0, m, kernel, x, weight, epilogueInputs, outputs, batch, io, stream), stream);
        // An int8 kernel has no cuBLASLt path: its tiles are timed against each other alone (cuBLASLt's time is recorded as infinite).
        var (cublas, algorithm) = kernel.Int8 ? (double.PositiveInfinity, 0) : TimeCublasLt(m, kernel, x, weight, epilogueInputs, outputs, batch, io, stream);
        // The other tiles are NVRTC's: under FUSION_KERNELS=ilgpu the template is its ILGPU version, in its one tile.
        if (!ilgpu)
        {
            // The default tile is close: the other thin tiles may win. The wide ones are timed in any case: they are built for the
            // GEMMs the thin family loses by far (deep K). Compile them together (in parallel), then time each.
            bool close = generated <= ExploreTiles * cublas;
            var others = GemmTile.CandidatesFor(kernel, _device.ComputeCapability)
                .Where(t => t != best && (close || t.Wide || t.Wgmma || t.Splits > 1)).ToList();
            PrecompileTiles(kernel, others, io);
            foreach (var tile in others)
            {
                double us = Median(() => Execute(GemmPath.Generated, tile, false, 0, m, kernel, x, weight, epilogueInputs, outputs, batch, io, stream), stream);
                if (us < generated) (best, generated) = (tile, us);
            }
        }
        if (_epilogues.Language == Generated.KernelLanguage.Auto && IlgpuFits(kernel, GemmTile.Default(kernel.N), m, batch) && TryLoadIlgpu(kernel, io))
        {
            var tile = GemmTile.Default(kernel.N);
            double us = Median(() => Execute(GemmPath.Generated, tile, true, 0, m, kernel, x, weight, epilogueInputs, outputs, batch, io, stream), stream);
            if (us < generated) (best, generated, ilgpu) = (tile, us, true);
        }
        var choice = new GemmChoice(generated <= cublas ? GemmPath.Generated : GemmPath.CublasLt, best, generated, cublas, ilgpu, algorithm);
        Measurements++;
        Choices.Store(key, choice);
        return (choice.Path, choice.Tile, choice.Path == GemmPath.Generated && ilgpu, choice.Algorithm);
    }

    /// <summary>
    /// The median microseconds of the fastest algorithm cuBLASLt's heuristic offers for this GEMM, and its index: the first guess, then
    /// each other one (an algorithm cuBLASLt then refuses at the call is passed over).
    /// </summary>
    private (double Microseconds, int Algorithm) TimeCublasLt(int m, GemmKernel kernel, CudaTensor x, CudaTensor weight, IReadOnlyList<CudaTensor> epilogueInputs,
        IReadOnlyList<CudaTensor> outputs, int batch, DType io, CudaStream stream)
    {
        double best = Median(() => Execute(GemmPath.CublasLt, default, false, 0, m, kernel, x, weight, epilogueInputs, outputs, batch, io, stream), stream);
        int chosen = 0, offered = CublasLt.LastAlgorithmCount;
        for (int algorithm = 1; algorithm < offered; algorithm++)
        {
            double us;
            try
            {
                us = Median(() => Execute(GemmPath.CublasLt, default, false, algorithm, m, kernel, x, weight, epilogueInputs, outputs, batch, io, stream), stream);
            }
            catch (CudaException e) when (e.Message.Contains("cublasLtMatmul(", StringComparison.Ordinal))
            {
                continue;
            }
            if (us < best) (best, chosen) = (us, algorithm);
        }
        return (best, chosen);
    }

    /// <summary>
    /// Loads the ILGPU template for <see cref="Generated.KernelLanguage.Auto"/>; false (with one warning per kernel) where ILGPU or the
    /// driver cannot compile it, which leaves the GEMM to the NVRTC template and cuBLASLt.
    /// </summary>
    private bool TryLoadIlgpu(GemmKernel kernel, DType io) =>
        _ilgpu.TryLoad($"{kernel.Name}|{io.ShortName()}", () => kernel.IlgpuMethod(io), kernel.Name, "the GEMM's NVRTC template or cuBLASLt");

    private double Median(Action work, CudaStream stream)
    {
        _hold ??= new StreamHold(_jit);
        return 1000.0 * _hold.MedianMilliseconds(_device, stream, work, WarmupRuns, TimedRuns);
    }

    /// <summary>One path: the template in <paramref name="tile"/> (its ILGPU version when <paramref name="ilgpu"/>), or cuBLASLt's heuristic's algorithm number <paramref name="algorithm"/>.</summary>
    private void Execute(GemmPath path, GemmTile tile, bool ilgpu, int algorithm, int m, GemmKernel kernel, CudaTensor x, CudaTensor weight, IReadOnlyList<CudaTensor> epilogueInputs,
        IReadOnlyList<CudaTensor> outputs, int batch, DType io, CudaStream stream)
    {
        if (path == GemmPath.Generated) RunGenerated(tile, ilgpu, m, kernel, x, weight, epilogueInputs, outputs, batch, io, stream);
        else if (kernel.Conv is { } conv)
        {
            // cuBLASLt multiplies stored matrices: the convolution's im2col matrix is gathered first (the generated Im2col kernel).
            using var columns = CudaTensor.Empty(stream, DType.Float16, new Shape(x.Shape[0], conv.OutHeight, conv.OutWidth, kernel.K));
            _epilogues.Launch(conv.Gather(kernel.Name, DType.Float16), x.Shape[0], io, new[] { x, columns }, stream);
            RunCublasLt(kernel, columns, weight, epilogueInputs, outputs, batch, io, stream, algorithm);
            LastRanIlgpu = false;
        }
        else
        {
            RunCublasLt(kernel, x, weight, epilogueInputs, outputs, batch, io, stream, algorithm);
            LastRanIlgpu = false;
        }
    }

    /// <summary>The template with the epilogue printed into it: x, the (padded) weight, m, the batch, then the epilogue's buffers.</summary>
    private void RunGenerated(GemmTile tile, bool ilgpu, int m, GemmKernel kernel, CudaTensor x, CudaTensor weight, IReadOnlyList<CudaTensor> epilogueInputs,
        IReadOnlyList<CudaTensor> outputs, int batch, DType io, CudaStream stream)
    {
        var w = kernel.KW == kernel.K ? weight : PaddedWeight(weight, stream);
        w.Expect("padded weight", new Shape(kernel.N, kernel.KW), kernel.OperandType);
        long blocks = tile.Blocks(m, kernel.N);
        if (blocks > int.MaxValue) throw new FusionException($"{kernel.Name}: m = {m} needs {blocks} blocks of tile {tile}, more than one launch takes");
        // The ILGPU kernel takes each buffer as an array view, {pointer, length}.
        KernelArguments Buffer(KernelArguments a, CudaTensor t) => ilgpu ? a.View(t.Pointer, t.ElementCount) : a.Pointer(t);
        var args = (tile.Tma ? TmaOperands(tile, m, kernel, x, w) : Buffer(Buffer(new KernelArguments(), x), w)).Int(m).Int(batch);
        foreach (var t in epilogueInputs.Concat(outputs)) Buffer(args, t);
        var function = ilgpu ? LoadIlgpu(kernel, io) : Load(kernel, tile, kernel.Epilogue.UsesIoType && io == DType.Float16);
        Generated.AccumulatedOutputs.ClearOutputs(kernel.Epilogue, outputs, stream);
        function.Launch(stream, tile.LaunchGrid(m, kernel.N, _device.MultiprocessorCount), tile.Threads, args, ilgpu ? 0 : tile.DynamicSharedBytes, tile.Cluster);
        LastRanIlgpu = ilgpu;
    }

    /// <summary>
    /// A Hopper TMA tile's x and w operands: the tensor maps of x [m, K] (boxes of the tile's rows) and of the padded weight [N, KW] (boxes of
    /// its columns), 128-byte rows in the swizzle the tile's wgmma descriptors name. Encoded on every launch (host work only, not
    /// timed on its own): the maps hold the addresses, which change from call to call outside a graph.
    /// </summary>
    private KernelArguments TmaOperands(GemmTile tile, int m, GemmKernel kernel, CudaTensor x, CudaTensor w)
    {
        int bytes = kernel.Int8 ? 1 : 2;
        return new KernelArguments()
            .Struct(TensorMap.Matrix(_device, x.Pointer, m, kernel.K, bytes, tile.Rows, $"{kernel.Name} x"))
            .Struct(TensorMap.Matrix(_device, w.Pointer, kernel.N, kernel.KW, bytes, tile.Columns, $"{kernel.Name} weight"));
    }

    /// <summary>The ILGPU version for <paramref name="io"/>, compiled (ILGPU to PTX, the driver to CUBIN, through the cache) and loaded once.</summary>
    private CudaKernel LoadIlgpu(GemmKernel kernel, DType io) => _ilgpu.Load(kernel.IlgpuMethod(io), kernel.Name);

    /// <summary>
    /// cuBLASLt. With an epilogue of its own (<see cref="GemmKernel.Cublas"/>): BIAS/RELU_BIAS/GELU_BIAS (an activation without a bias
    /// gets a zero bias); a residual is C with beta = 1 when there is no activation or it comes before the activation
    /// (<see cref="CublasEpilogue.ResidualFirst"/>), else an add after the product (cuBLASLt applies its activation after C). Otherwise the bare product into a scratch buffer, which the epilogue kernel finishes. The product runs
    /// the heuristic's algorithm number <paramref name="algorithm"/> (FP8: always its first).
    /// </summary>
    private void RunCublasLt(GemmKernel kernel, CudaTensor x, CudaTensor weight, IReadOnlyList<CudaTensor> epilogueInputs, IReadOnlyList<CudaTensor> outputs,
        int batch, DType io, CudaStream stream, int algorithm)
    {
        if (kernel.Fp8)
        {
            RunFp8(kernel, x, weight, epilogueInputs, outputs, batch, io, stream);
            return;
        }
        if (!CublasFinishes(kernel, x, outputs))
        {
            using var product = CudaTensor.Empty(stream, x.DType, x.Shape.With(-1, kernel.N));
            _cublas.Linear(x, weight, null, product, MatmulEpilogue.None, stream, algorithm: algorithm);
            FinishWithEpilogueKernel(kernel, product, epilogueInputs, outputs, batch, io, stream);
            return;
        }
        var form = kernel.Cublas!;
        var output = outputs[0];
        var bias = form.Bias >= 0 ? epilogueInputs[form.Bias] : null;
        var residual = form.Residual >= 0 ? epilogueInputs[form.Residual] : null;
        var epilogue = MatmulEpilogueOf(form.Activation, bias);
        var b = epilogue == MatmulEpilogue.None ? null : bias ?? ZeroBias(kernel.N);
        if (residual is null || form.Activation == Activation.None || form.ResidualFirst)
        {
            _cublas.Linear(x, weight, b, output, epilogue, stream, residual, algorithm);
            return;
        }
        _cublas.Linear(x, weight, b, output, epilogue, stream, algorithm: algorithm);
        AddInPlace(output, residual, stream);
    }

    /// <summary>
    /// Whether cuBLASLt's own epilogue finishes this call: the kernel has a cuBLASLt form, and where that form ends with a cast to the
    /// run's io type (<see cref="CublasEpilogue.ToIo"/>) the output is the product's own type (fp16 io on an fp16 GEMM).
    /// </summary>
    private static bool CublasFinishes(GemmKernel kernel, CudaTensor x, IReadOnlyList<CudaTensor> outputs) =>
        kernel.Cublas is { } form && form.Finishes(x.DType, outputs[0].DType);

    /// <summary>
    /// An FP8 product through cuBLASLt: with its own epilogue, the dequantize factor as the A scale (B's is 1), the bias and
    /// activation, the residual as C, and an E4M3 output scaled by the output scale (D's); otherwise the float32 product (both
    /// scales 1), which the epilogue kernel dequantizes and finishes. Where this cuBLASLt refuses the fused form (it is checked at
    /// the call, before anything runs), the kernel falls back to the second way for good, with one warning.
    /// </summary>
    private void RunFp8(GemmKernel kernel, CudaTensor x, CudaTensor weight, IReadOnlyList<CudaTensor> epilogueInputs, IReadOnlyList<CudaTensor> outputs,
        int batch, DType io, CudaStream stream)
    {
        var one = UnitScale();
        bool refused;
        lock (_lock) refused = _fp8Refused.Contains(kernel.Name);
        if (kernel.Cublas is { } form && !refused)
        {
            var bias = form.Bias >= 0 ? epilogueInputs[form.Bias] : null;
            var epilogue = MatmulEpilogueOf(form.Activation, bias);
            try
            {
                _cublas.LinearFp8(x, weight, epilogueInputs[form.Scale], one, bias, outputs[0], epilogue, stream,
                    addend: form.Residual >= 0 ? epilogueInputs[form.Residual] : null, outputScale: form.OutScale >= 0 ? epilogueInputs[form.OutScale] : null);
                return;
            }
            catch (CudaException e) when (e.Message.Contains("cublasLtMatmul", StringComparison.Ordinal))
            {
                lock (_lock) _fp8Refused.Add(kernel.Name);
                _warn($"{kernel.Name}: cuBLASLt refused its FP8 epilogue ({e.Message}); it runs as the float32 product and the epilogue kernel from now on");
            }
        }
        using var product = CudaTensor.Empty(stream, DType.Float32, x.Shape.With(-1, kernel.N));
        _cublas.LinearFp8(x, weight, one, one, null, product, MatmulEpilogue.None, stream);
        FinishWithEpilogueKernel(kernel, product, epilogueInputs, outputs, batch, io, stream);
    }

    /// <summary>cuBLASLt's epilogue for a <see cref="CublasEpilogue"/>'s activation: BIAS/RELU_BIAS/GELU_BIAS (cuBLASLt's GELU is the tanh form), or none without one or a bias.</summary>
    private static MatmulEpilogue MatmulEpilogueOf(Activation activation, CudaTensor? bias) => activation switch
    {
        Activation.Relu => MatmulEpilogue.ReluBias,
        Activation.Gelu or Activation.GeluTanh => MatmulEpilogue.GeluBias,
        _ => bias is null ? MatmulEpilogue.None : MatmulEpilogue.Bias,
    };

    /// <summary>The second kernel of a product cuBLASLt wrote bare: the epilogue kernel reads it as "acc" and writes the outputs.</summary>
    private void FinishWithEpilogueKernel(GemmKernel kernel, CudaTensor product, IReadOnlyList<CudaTensor> epilogueInputs, IReadOnlyList<CudaTensor> outputs,
        int batch, DType io, CudaStream stream)
    {
        var buffers = KernelOperands.EpilogueInputs(kernel, product, epilogueInputs).Cast<CudaTensor>().Concat(outputs).ToList();
        _epilogues.Launch(kernel.Epilogue, batch, io, buffers, stream);
    }

    /// <summary>A float32 1 on the device: the FP8 product's scale where there is nothing to scale by.</summary>
    private CudaTensor UnitScale()
    {
        lock (_lock)
        {
            if (_unitScale is null)
            {
                using var host = CpuTensor.FromArray([1f], 1);
                var unit = CudaTensor.FromHost(_device, host);
                unit.Stream.Synchronize(); // read by every stream from here on
                _unitScale = unit;
            }
            return _unitScale;
        }
    }

    /// <summary>The [N, KW] zero-padded copy of <paramref name="weight"/>, made on first use (load time) and kept per weight object.</summary>
    private CudaTensor PaddedWeight(CudaTensor weight, CudaStream stream)
    {
        using var held = _lock.EnterScope();
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
        lock (_lock)
        {
            if (_add is null)
            {
                _addModule = _jit.LoadShipped("add_half.cu");
                _add = _addModule.GetKernel("fusion_add_half");
            }
        }
        const int threads = 256;
        long blocks = Math.Min((output.ElementCount + threads - 1) / threads, 65536);
        _add.Launch(stream, (int)blocks, threads, new KernelArguments().Pointer(output).Pointer(residual).Pointer(output).Long(output.ElementCount));
    }

    private CudaTensor ZeroBias(int n)
    {
        lock (_lock)
        {
            if (!_zeroBiases.TryGetValue(n, out var zero))
            {
                zero = CudaTensor.Empty(_device, DType.Float16, n);
                zero.FillBytes(0);
                zero.Stream.Synchronize(); // read by every stream from here on
                _zeroBiases[n] = zero;
            }
            return zero;
        }
    }

    /// <summary>The kernel in <paramref name="tile"/>, compiled (or read from the kernel cache) once per kernel source, tile and io variant.</summary>
    private CudaKernel Load(GemmKernel kernel, GemmTile tile, bool ioHalf)
    {
        var id = (kernel.Name, tile, ioHalf); // runs on every launch: the name and source are made only on a miss
        using var held = _lock.EnterScope();
        if (_kernels.TryGetValue(id, out var entry) && (ReferenceEquals(entry.Source, kernel.CudaSource) || entry.Source == kernel.CudaSource))
            return entry.Kernel;
        var (name, source, options, architecture) = TileSource(kernel, tile, ioHalf);
        var module = _jit.Load(name, source, options, architecture);
        var function = module.GetKernel(kernel.Name);
        function.AllowSharedMemory(tile.DynamicSharedBytes); // the wide tiles' stages pass the 48 KB a launch gets unasked
        if (_kernels.Remove(id, out var stale)) stale.Module.Dispose();
        _kernels[id] = (kernel.CudaSource, module, function);
        return function;
    }

    /// <summary>
    /// Checks x and the weight against the kernel (float16, or int8 for an int8 kernel; the epilogue's buffers are checked by the
    /// backend) and an int8 kernel against the device; returns m, the rows of x.
    /// </summary>
    private int Validate(GemmKernel kernel, CudaTensor x, CudaTensor weight)
    {
        var type = kernel.OperandType;
        weight.Expect($"{kernel.Name} weight", new Shape(kernel.N, kernel.K), type);
        long m;
        if (kernel.Conv is { } conv)
        {
            // An implicit-GEMM convolution: x is the channels-last image, its im2col matrix has batch·OH·OW rows.
            if (x.Rank != 4) throw new TensorMismatchException($"{kernel.Name} x", $"[batch, {conv.Height}, {conv.Width}, {conv.Channels}] (the convolution's channels-last image)", x.ToString());
            x.Expect($"{kernel.Name} x (the convolution's channels-last image)", new Shape(x.Shape[0], conv.Height, conv.Width, conv.Channels), type);
            m = (long)x.Shape[0] * conv.OutHeight * conv.OutWidth;
        }
        else
        {
            if (x.Rank < 1 || x.Shape[-1] != kernel.K) throw new TensorMismatchException($"{kernel.Name} x", $"[..., {kernel.K}] {type.ShortName()}", x.ToString());
            x.Expect($"{kernel.Name} x", x.Shape, type);
            m = x.ElementCount / kernel.K;
        }
        if (kernel.Fp8 && _device.ComputeCapability < 89)
            throw new FusionException($"{kernel.Name}: FP8 products need FP8 tensor cores (sm_89 or newer: Ada, Hopper); {_device.Name} is {_device.Architecture}");
        // mma.sync m16n8k32 with int8 operands is an sm_80 instruction (Ampere and newer).
        if (kernel.Int8 && _device.ComputeCapability < 80)
            throw new FusionException($"{kernel.Name}: the int8 GEMM template needs int8 mma.sync m16n8k32 (sm_80 or newer); {_device.Name} is {_device.Architecture}");
        if (m > int.MaxValue) throw new TensorMismatchException("x", $"at most {int.MaxValue} rows", m.ToString(CultureInfo.InvariantCulture));
        if (x.Pointer % 16 != 0 || weight.Pointer % 16 != 0)
            throw new FusionException($"{kernel.Name}: x and weight must be 16-byte aligned");
        return (int)m;
    }

    public void Dispose()
    {
        using var held = _lock.EnterScope();
        foreach (var entry in _kernels.Values) entry.Module.Dispose();
        _kernels.Clear();
        _ilgpu.Dispose();
        _addModule?.Dispose();
        _hold?.Dispose();
        if (_ownsEpilogues) _epilogues.Dispose();
        foreach (var zero in _zeroBiases.Values) zero.Dispose();
        _unitScale?.Dispose();
        _zeroBiases.Clear();
        foreach (var (_, padded) in _padded) padded.Dispose();
        _padded.Clear();
        if (_ownsCublas) _cublas.Dispose();
    }
}
