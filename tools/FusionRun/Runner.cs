using System.Diagnostics;
using System.Globalization;
using Fusion.Cuda;
using Fusion.Cuda.Gemm;
using Fusion.Cuda.Generated;
using Fusion.Devices;
using Fusion.Imaging;
using Fusion.IO;

namespace Fusion.Run;

/// <summary>
/// One fusion-run: checks the options, makes the model and its inputs (so file and shape errors need no device), picks the
/// backend, loads weights, prepares kernels with a first forward pass (JIT or kernel cache, constants, GEMM choices; with
/// --graphs, the capture), then times the warm-up and timed passes: wall clock on the host up to a synchronize, and device
/// time between two CUDA events on the stream. --profile adds separate passes through <see cref="ProfilingBackend"/> after
/// the timed ones, so its per-call events never touch the figures above.
/// </summary>
internal sealed class Runner(TextWriter output, ConsoleReport report)
{
    public RunResult Run(RunOptions options)
    {
        var preference = options.Device switch { DeviceRequest.Cpu => DevicePreference.Cpu, DeviceRequest.Cuda => DevicePreference.Cuda, _ => (DevicePreference?)null };
        if (options.Device == DeviceRequest.Cpu) CheckCpuOptions(options);
        if (options.Weights is not null && !File.Exists(options.Weights))
            throw ToolException.BadInput($"--weights {options.Weights}: file not found");

        var load = Stopwatch.StartNew();
        var model = ModelCatalog.Create(options.Model, options.Assembly);
        var hostInputs = InputLoader.Load(model.Info, options.Inputs, options.Batch, options.Seed);
        try
        {
            var choice = DeviceSelection.Select(preference);
            if (choice.Device != DeviceKind.Cuda) CheckCpuOptions(options);
            report.Line(choice.ToString());
            var (backend, gemmPolicy) = CreateBackend(choice, options);
            try
            {
                return RunOn(model, backend, hostInputs, choice.Reason, gemmPolicy, options, load);
            }
            finally
            {
                backend.Dispose();
            }
        }
        finally
        {
            foreach (var input in hostInputs) input.Tensor.Dispose();
        }
    }

    private RunResult RunOn(IFusedModel model, IBackend backend, IReadOnlyList<LoadedInput> hostInputs, string reason, string? gemmPolicy,
        RunOptions options, Stopwatch load)
    {
        var cuda = backend as CudaBackend;
        string precision = options.Precision ?? (cuda is null ? "fp32" : "fp16");
        // int8 and fp8 run the Int8 and Fp8 plans; their inputs and output are fp16 on CUDA, fp32 on the CPU.
        bool quantized = precision is "int8" or "fp8";
        var dtype = precision == "fp16" || (quantized && cuda is not null) ? DType.Float16 : DType.Float32;
        Precision plan = precision switch { "int8" => Fusion.Precision.Int8, "fp8" => Fusion.Precision.Fp8, _ => dtype == DType.Float16 ? Fusion.Precision.Half : Fusion.Precision.Float };
        report.Field("device", $"{backend.Name} ({precision})");

        string weights = LoadWeights(model, options);
        if (options.Scales is { } scalePath) report.Field("scales", LoadScales(model, scalePath, options.Weights!, precision));
        else if (quantized) report.Field("scales", CalibrateOnInput(model, hostInputs, precision));
        var info = model.Info;
        report.Field("model", $"{info.Name}: {info.OperatorCount} operators after fusion, {model.Kernels.OfType<GeneratedKernel>().Count()} generated kernels, " +
            $"{model.Kernels.OfType<GemmKernel>().Count()} GEMMs, {model.Kernels.OfType<FusedKernel>().Count()} templates, {info.ParameterCount:N0} parameters");
        report.Field("weights", weights);

        var inputs = new List<Tensor>();
        try
        {
            foreach (var host in hostInputs)
            {
                using var converted = (CpuTensor)CpuBackend.Instance.Cast(host.Tensor, dtype);
                inputs.Add(backend.FromHost(converted));
            }
            cuda?.Synchronize();
            load.Stop();
            var inputLines = hostInputs.Select(i => $"{i.Name} {i.Tensor.Shape} as {dtype.ShortName()} from {i.Source}").ToList();
            foreach (var line in inputLines) report.Field("input", line);
            if (gemmPolicy is not null) report.Field("gemm", gemmPolicy);
            report.Field("load", Ms(load.Elapsed.TotalMilliseconds));

            using var timer = cuda is null ? null : new PassTimer(cuda);
            GraphedModel? graph = null;
            CpuTensor? firstOutput = null;
            try
            {
                var prepare = Stopwatch.StartNew();
                PrecompileSummary? compiled = null;
                using (Progress.Start("preparing kernels (JIT or cache, constants, GEMM choices)", output))
                {
                    compiled = cuda?.Precompile(model.Kernels, plan); // in parallel; the first pass then only loads them
                    if (options.Graphs)
                    {
                        graph = GraphedModel.Capture(model, cuda!, inputs[0], plan);
                        cuda!.Synchronize();
                        firstOutput = backend.ToHost(graph.Replay());
                    }
                    else
                    {
                        using var result = model.Run(inputs, backend, plan);
                        firstOutput = backend.ToHost(result);
                    }
                }
                var (outputDescription, topClasses) = (Describe(firstOutput), ImageNetTop(firstOutput));
                prepare.Stop();
                report.Field("preparation", Ms(prepare.Elapsed.TotalMilliseconds) + (options.Graphs ? " (first pass and CUDA graph capture)" : " (first pass: kernel JIT or cache, constants, GEMM choices)"));
                if (compiled is not null) report.Field("kernels", $"{compiled} of the preparation; generated kernels: {KernelLanguages.Name(cuda!.GeneratedKernelLanguage)} ({KernelLanguages.Variable})");
                if (graph is not null) report.Field("graph", $"{graph.Nodes} a pass (the captured graph's nodes: what one replay launches, cuBLASLt's kernels included)");

                var warmups = new List<IterationRecord>();
                for (int i = 0; i < options.Warmup; i++)
                {
                    var record = Pass(i + 1, model, backend, inputs, graph, timer, plan);
                    warmups.Add(record);
                    report.Iteration("warm-up", record);
                }
                var iterations = new List<IterationRecord>();
                for (int i = 0; i < options.Iterations; i++)
                {
                    var record = Pass(i + 1, model, backend, inputs, graph, timer, plan);
                    iterations.Add(record);
                    report.Iteration("iter", record);
                }
                report.Field("output", outputDescription);
                if (topClasses is not null) report.TopClasses(topClasses);
                long? deviceMemory = cuda?.CudaDevice.Allocator.ReservedBytes;
                if (deviceMemory is long bytes)
                    report.Field("memory", string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:F1} MiB reserved on the device (parameters, constants, activations, allocator cache)"));

                var wall = TimingStats.Of(iterations.Select(r => r.WallMs).ToList());
                var deviceTime = cuda is null ? null : TimingStats.Of(iterations.Select(r => r.DeviceMs ?? 0).ToList());
                KernelProfile? profile = options.Profile ? ProfileRuns(model, backend, inputs, options.Iterations, graph is null ? null : deviceTime, plan) : null;
                if (options.Output is not null) WriteOutput(options.Output, firstOutput!);
                return new RunResult(options, backend.Name, reason, precision, info.Name, info.OperatorCount, model.Kernels.Count, info.ParameterCount,
                    weights, inputLines, gemmPolicy, load.Elapsed.TotalMilliseconds, prepare.Elapsed.TotalMilliseconds, warmups, iterations, wall, deviceTime,
                    outputDescription, profile, deviceMemory, graph?.Nodes);
            }
            finally
            {
                graph?.Dispose();
                firstOutput?.Dispose();
            }
        }
        finally
        {
            foreach (var tensor in inputs) tensor.Dispose();
        }
    }

    private static IterationRecord Pass(int index, IFusedModel model, IBackend backend, IReadOnlyList<Tensor> inputs, GraphedModel? graph, PassTimer? timer,
        Precision plan)
    {
        var clock = Stopwatch.StartNew();
        timer?.Start();
        if (graph is not null)
        {
            graph.Replay();
            timer?.Stop();
        }
        else
        {
            using var result = model.Run(inputs, backend, plan);
            timer?.Stop(); // before the dispose, which queues no work
        }
        double? device = timer?.Wait(); // synchronizes: the wall clock covers the queued work
        clock.Stop();
        return new IterationRecord(index, clock.Elapsed.TotalMilliseconds, device);
    }

    /// <summary>
    /// The per-kernel table: separate passes through <see cref="ProfilingBackend"/>. Without --graphs the kernels are launched one
    /// by one, each bracketed by events, behind a stream hold that keeps the host's launch time out. With --graphs the pass is
    /// captured a second time through the profiler, which records an event node between the calls inside that graph, and each
    /// replay of it is read: the kernels' times as the graph runs them (at batch 1 a kernel launched alone pays a launch the graph
    /// does not, so the one-by-one table overstated small kernels), set against the plain graph's replay to show what the event
    /// nodes cost.
    /// </summary>
    private KernelProfile ProfileRuns(IFusedModel model, IBackend backend, IReadOnlyList<Tensor> inputs, int runs, TimingStats? graphDevice, Precision plan)
    {
        if (backend.Device == DeviceKind.Cuda) report.Line(Nvtx.IsAvailable ? $"nvtx: a range per operator call, through {Nvtx.Source}" : $"nvtx: ranges off: {Nvtx.OffReason}");
        if (graphDevice is not null && backend is CudaBackend cuda) return ProfileGraphRuns(model, cuda, inputs[0], runs, graphDevice, plan);
        using var profiler = new ProfilingBackend(backend);
        using (model.Run(inputs, profiler, plan)) { } // builds this backend's constants; not counted
        var enqueue = Stopwatch.StartNew();
        using (model.Run(inputs, profiler, plan)) { } // how long the host takes to queue a warm pass; not counted
        enqueue.Stop();
        profiler.Reset();
        var hold = StreamHold.Covering(enqueue.Elapsed, TimeSpan.FromMilliseconds(50));
        for (int i = 0; i < runs; i++)
        {
            profiler.BeginPass(hold);
            using (model.Run(inputs, profiler, plan)) { }
            profiler.Collect();
        }
        var profile = profiler.Result();
        report.Profile(profile);
        return profile;
    }

    /// <summary>--graphs --profile: <paramref name="runs"/> replays of the pass captured with event nodes between its calls.</summary>
    private KernelProfile ProfileGraphRuns(IFusedModel model, CudaBackend cuda, Tensor input, int runs, TimingStats graphDevice, Precision plan)
    {
        using var profiler = new ProfilingBackend(cuda, eventsInGraph: true);
        using var graph = GraphedModel.Capture(model, cuda, input, plan, through: profiler);
        graph.Replay(); // the first replay of a graph uploads it; not counted
        cuda.Synchronize();
        var replays = new List<double>();
        using var timer = new PassTimer(cuda);
        for (int i = 0; i < runs; i++)
        {
            timer.Start();
            graph.Replay();
            timer.Stop();
            replays.Add(timer.Wait());
            profiler.CollectReplay();
        }
        var profile = profiler.Result();
        report.Profile(profile);
        double profiled = TimingStats.Of(replays).Median, perCall = 1000 * (profiled - graphDevice.Median) / profiler.CapturedCalls;
        // An event node is a node of its own between two kernels (2.8 µs on an H100, more than a kernel-to-kernel boundary); the
        // table's intervals include it, and the line says what it is a call, measured: a row less that is the kernel's share of the
        // plain replay.
        report.Line(string.Create(CultureInfo.InvariantCulture,
            $"graph:       replay {graphDevice.Median:F3} ms per pass on the device (median); with an event node between its {profiler.CapturedCalls} calls {profiled:F3} ms, of which the table's calls sum to {profile.TotalMsPerRun:F3} ms (mean); the event nodes add {perCall:F1} µs a call"));
        return profile;
    }

    /// <summary>--output: the first pass's output as .npy, written to a temporary file and renamed (never half-written).</summary>
    private void WriteOutput(string path, CpuTensor output)
    {
        try
        {
            NpyFile.Write(path, output, overwrite: true);
        }
        catch (IOException e)
        {
            throw ToolException.BadInput($"--output {path}: {e.Message}");
        }
        catch (UnauthorizedAccessException e)
        {
            throw ToolException.BadInput($"--output {path}: {e.Message}");
        }
        report.Field("written", $"{path}: {output.Shape} {output.DType.ShortName()}");
    }

    /// <summary>Loads the scale file of an int8 or fp8 run into the model's Int8Scales, checked against the model and the weight file.</summary>
    private static string LoadScales(IFusedModel model, string path, string weightsPath, string precision)
    {
        var scales = model.Int8Scales ?? throw ToolException.BadInput($"--precision {precision}: {model.Info.Name} has no quantized plan");
        try
        {
            scales.Load(Quantization.ScaleFile.Load(path, model.Info.Name, Quantization.ScaleFile.HashOf(weightsPath)));
        }
        catch (Exception e) when (e is FusionException or IOException)
        {
            throw ToolException.BadInput($"--scales {path}: {e.Message}");
        }
        return $"{path}: {scales.Names.Count} quantized layer inputs ({scales.Source})";
    }

    /// <summary>
    /// Random weights have no scale file: their int8 (fp8) scales come from the input batch itself (the eager FP32 Forward on the CPU,
    /// max method), which is what a timing or profiling run needs.
    /// </summary>
    private static string CalibrateOnInput(IFusedModel model, IReadOnlyList<LoadedInput> inputs, string precision)
    {
        var scales = model.Int8Scales ?? throw ToolException.BadInput($"--precision {precision}: {model.Info.Name} has no quantized plan");
        using (var calibration = new Quantization.LinearInputCalibration(model))
        {
            if (Quantization.LinearInputCalibration.ForwardOf(model, inputs.Count) is null)
                throw ToolException.BadInput($"--precision {precision}: {model.Info.Name} has no Forward to calibrate with");
            calibration.Run([.. inputs.Select(i => (Tensor)i.Tensor)]);
            scales.Load(calibration.Thresholds(Quantization.CalibrationMethod.Max), "the input batch");
        }
        return $"calibrated on the input batch ({scales.Names.Count} quantized layer inputs, max method; random weights have no scale file)";
    }

    private string LoadWeights(IFusedModel model, RunOptions options)
    {
        if (options.Weights is null)
        {
            ModelCatalog.InitializeRandom(model, options.Seed);
            return $"random, seed {options.Seed}";
        }
        try
        {
            using var _ = Progress.Start($"loading {Path.GetFileName(options.Weights)}", output);
            var loaded = model.LoadWeights(options.Weights, WeightLoadOptions.IgnoreUnexpected);
            return $"{options.Weights}: {loaded.Loaded.Count} tensors" + (loaded.Unexpected.Count > 0 ? $", ignored {loaded.Unexpected.Count} the model does not use" : "");
        }
        catch (WeightFileException e)
        {
            throw ToolException.BadInput($"--weights {options.Weights}: {e.Message}");
        }
    }

    /// <summary>
    /// The backend of the choice. On CUDA the GEMM policy is fixed when the backend is made (FusedGemm reads FUSION_GEMM
    /// in its constructor), so the variable is set for that moment only: --fast-run → fastrun (time cuBLASLt and the generated
    /// kernel's tiles per shape, keep the fastest, remember it in the kernel cache folder); without it, FUSION_GEMM as the
    /// environment sets it, and cached when unset (a decision an earlier --fast-run remembered, else cuBLASLt; nothing is timed).
    /// </summary>
    private static (IBackend Backend, string? GemmPolicy) CreateBackend(DeviceChoice choice, RunOptions options)
    {
        if (choice.Device != DeviceKind.Cuda) return (Backends.Create(choice), null);
        var previous = Environment.GetEnvironmentVariable(GemmPolicies.Variable);
        string policy = options.FastRun ? "fastrun" : string.IsNullOrWhiteSpace(previous) ? "cached" : previous.Trim().ToLowerInvariant();
        try
        {
            GemmPolicies.Parse(policy);
        }
        catch (FusionException e)
        {
            throw ToolException.BadUsage(e.Message);
        }
        Environment.SetEnvironmentVariable(GemmPolicies.Variable, policy);
        try
        {
            return (Backends.Create(choice), policy);
        }
        finally
        {
            Environment.SetEnvironmentVariable(GemmPolicies.Variable, previous);
        }
    }

    private static void CheckCpuOptions(RunOptions options)
    {
        if (options.Graphs) throw ToolException.BadUsage("--graphs needs CUDA (CUDA graphs); the device is the CPU");
    }

    private static string Describe(CpuTensor host)
    {
        var values = host.ToFloatArray();
        return string.Create(CultureInfo.InvariantCulture, $"{host.Shape} {host.DType.ShortName()}, mean {values.Average():F6}, mean |x| {values.Average(MathF.Abs):F6}");
    }

    /// <summary>The top-5 classes of each input when the model is an ImageNet-1k classifier (output [N, 1000]), else null.</summary>
    private static IReadOnlyList<IReadOnlyList<ClassScore>>? ImageNetTop(CpuTensor host) => Imaging.TopClasses.IsImageNet(host) ? Imaging.TopClasses.Of(host) : null;

    private static string Ms(double ms) => string.Create(CultureInfo.InvariantCulture, $"{ms:F1} ms");
}
