using System.CommandLine;
using System.Text.RegularExpressions;

namespace Fusion.Run;

/// <summary>Which device the user asked for: auto (FUSION_DEVICE, else CUDA when usable), the CPU, or CUDA device 0.</summary>
internal enum DeviceRequest
{
    Auto,
    Cpu,
    Cuda,
}

/// <summary>One --input value: a named .npy file (<c>NAME:FILE.npy</c>), a bare .npy file, or image files.</summary>
internal sealed record InputSpec(string? Name, string Path);

/// <summary>Everything the command line says, checked: values are in range and the device string is understood.</summary>
internal sealed record RunOptions(
    string Model,
    string? Assembly,
    string? Weights,
    IReadOnlyList<InputSpec> Inputs,
    int Batch,
    DeviceRequest Device,
    string? Precision,
    int Warmup,
    int Iterations,
    bool Graphs,
    bool FastRun,
    bool Profile,
    string? Json,
    int Seed,
    string? Output = null,
    string? Scales = null)
{
    /// <summary>The option as typed, for reports ("auto", "cpu", "cuda:0").</summary>
    public string DeviceText => Device switch { DeviceRequest.Cpu => "cpu", DeviceRequest.Cuda => "cuda:0", _ => "auto" };

    /// <summary>auto, cpu, cuda or cuda:0; cuda:N for another N is refused (one device is supported), anything else is unknown.</summary>
    public static DeviceRequest ParseDevice(string value)
    {
        var text = value.Trim().ToLowerInvariant();
        if (text == "auto") return DeviceRequest.Auto;
        if (text == "cpu") return DeviceRequest.Cpu;
        if (text is "cuda" or "cuda:0") return DeviceRequest.Cuda;
        if (Regex.IsMatch(text, "^cuda:[0-9]+$"))
            throw ToolException.BadUsage($"--device {value}: only CUDA device 0 is supported (use cuda or cuda:0)");
        throw ToolException.BadUsage($"--device {value}: unknown device (expected auto, cpu, cuda or cuda:0)");
    }

    /// <summary>NAME:FILE.npy keeps the name; a value without a colon (or, on Windows, starting with a drive letter) is a bare path.</summary>
    public static InputSpec ParseInput(string value)
    {
        int colon = value.IndexOf(':', StringComparison.Ordinal);
        bool driveLetter = OperatingSystem.IsWindows() && colon == 1 && value.Length > 2 && value[2] is '\\' or '/';
        if (colon < 0 || driveLetter) return new InputSpec(null, value);
        if (colon == 0 || colon == value.Length - 1)
            throw ToolException.BadUsage($"--input {value}: expected NAME:FILE.npy or an image file");
        return new InputSpec(value[..colon], value[(colon + 1)..]);
    }
}

/// <summary>The System.CommandLine definition of fusion-run and the step from a parse result to <see cref="RunOptions"/>.</summary>
internal sealed class RunCommandLine
{
    public Argument<string> Model { get; } = new("MODEL") { Description = "swin-t, swin-blocks, vit-b16, resnet-50, convnext-t, swin-t-views, or a [FusedModel] class name with --assembly" };
    public Option<string?> Assembly { get; } = new("--assembly") { Description = "an assembly to load MODEL from (a class implementing IFusedModel)" };
    public Option<string?> Weights { get; } = new("--weights") { Description = "safetensors state dict; random (seeded) weights when absent" };
    public Option<string[]> Inputs { get; } = new("--input") { Description = "NAME:FILE.npy (or FILE.npy) per model input, or image files (.png .ppm .pgm .pnm); random when absent", AllowMultipleArgumentsPerToken = false };
    public Option<int> Batch { get; } = new("--batch") { Description = "batch size of random input", DefaultValueFactory = _ => 1 };
    public Option<string> Device { get; } = new("--device") { Description = "auto | cpu | cuda | cuda:0", DefaultValueFactory = _ => "auto" };
    public Option<string?> Precision { get; } = new("--precision") { Description = "fp16 (default on CUDA), fp32 (default on the CPU), int8 (int8 GEMMs, the rest fp16) or fp8 (FP8 E4M3 GEMMs through cuBLASLt, sm_89+; the rest fp16); int8 and fp8 take --scales with --weights, random weights calibrate on the input; inputs are fed in fp16 or fp32 (int8, fp8: fp16 on CUDA, fp32 on the CPU)" };
    public Option<string?> Scales { get; } = new("--scales") { Description = "the scale file of --precision int8 or fp8 (fusion-run calibrate writes it for the --weights file)" };
    public Option<int> Warmup { get; } = new("--warmup") { Description = "untimed-in-stats warm-up runs after preparation", DefaultValueFactory = _ => 3 };
    public Option<int> Iterations { get; } = new("--iters") { Description = "timed runs", DefaultValueFactory = _ => 10 };
    public Option<bool> Graphs { get; } = new("--graphs") { Description = "replay the forward pass as a CUDA graph (CUDA only)" };
    public Option<bool> FastRun { get; } = new("--fast-run") { Description = "time generated GEMM against cuBLASLt per shape on this GPU and keep the faster (cached)" };
    public Option<bool> Profile { get; } = new("--profile") { Description = "per-kernel time table; NVTX ranges per op when libnvToolsExt loads" };
    public Option<string?> Json { get; } = new("--json") { Description = "write every figure to this JSON file" };
    public Option<int> Seed { get; } = new("--seed") { Description = "seed of random weights and input", DefaultValueFactory = _ => 0 };
    public Option<string?> Output { get; } = new("--output") { Description = "write the model's output (of the first pass) to this .npy file, in the run's precision" };

    /// <summary>The <c>convert</c> subcommand (FP32 → FP16 weight files).</summary>
    public ConvertCommandLine Convert { get; } = new();

    /// <summary>The <c>calibrate</c> subcommand (int8 clipping thresholds of a model's Linear inputs).</summary>
    public CalibrateCommandLine Calibrate { get; } = new();

    /// <summary>The <c>sensitivity</c> subcommand (each int8 Linear's cost in accuracy, simulated).</summary>
    public SensitivityCommandLine Sensitivity { get; } = new();

    /// <summary>The whole command line: MODEL and its options, with <c>convert</c> and <c>calibrate</c> listed among the commands.</summary>
    public RootCommand Root { get; }

    /// <summary>A root holding only <c>convert</c>, which parses a command line that starts with it (so MODEL is never asked for there).</summary>
    public RootCommand ConvertRoot { get; }

    /// <summary>A root holding only <c>calibrate</c>, for a command line that starts with it.</summary>
    public RootCommand CalibrateRoot { get; }

    /// <summary>A root holding only <c>sensitivity</c>, for a command line that starts with it.</summary>
    public RootCommand SensitivityRoot { get; }

    public RunCommandLine()
    {
        Precision.AcceptOnlyFromAmong("fp32", "fp16", "int8", "fp8");
        Root = new RootCommand("fusion-run MODEL [options]: load a Fusion model, feed it input, and time it.\n" +
            "fusion-run convert INPUT OUTPUT [options]: write an FP16 copy of an FP32 safetensors file (fusion-run convert --help).\n" +
            "fusion-run calibrate MODEL --weights W --calib FILE.npy|DIR [options]: write int8 scales (fusion-run calibrate --help).\n" +
            "fusion-run sensitivity MODEL --weights W --eval FILE.npy|DIR [options]: rank the int8 Linears by their cost in accuracy (fusion-run sensitivity --help).");
        Root.Arguments.Add(Model);
        foreach (Option option in new Option[] { Assembly, Weights, Inputs, Batch, Device, Precision, Scales, Warmup, Iterations, Graphs, FastRun, Profile, Json, Seed, Output })
            Root.Options.Add(option);
        // ConvertRoot first: convert's usage line names its first parent ("fusion-run convert INPUT OUTPUT", no MODEL).
        ConvertRoot = new RootCommand(Root.Description!) { Convert.Command };
        CalibrateRoot = new RootCommand(Root.Description!) { Calibrate.Command };
        SensitivityRoot = new RootCommand(Root.Description!) { Sensitivity.Command };
        Root.Subcommands.Add(Convert.Command);
        Root.Subcommands.Add(Calibrate.Command);
        Root.Subcommands.Add(Sensitivity.Command);
    }

    /// <summary>--output names a .npy file in a folder that exists (checked before anything runs).</summary>
    private static string? CheckOutput(string? path)
    {
        if (path is null) return null;
        if (!path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
            throw ToolException.BadUsage($"--output {path}: the output is written as .npy (name the file FILE.npy)");
        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        if (!Directory.Exists(folder)) throw ToolException.BadInput($"--output {path}: folder {folder} does not exist");
        if (Directory.Exists(path)) throw ToolException.BadInput($"--output {path}: is a folder");
        return path;
    }

    /// <summary>The checked options of a parse result without errors.</summary>
    public RunOptions Read(ParseResult result)
    {
        int batch = result.GetValue(Batch), warmup = result.GetValue(Warmup), iterations = result.GetValue(Iterations);
        if (batch < 1) throw ToolException.BadUsage($"--batch {batch}: must be at least 1");
        if (warmup < 0) throw ToolException.BadUsage($"--warmup {warmup}: must not be negative");
        if (iterations < 1) throw ToolException.BadUsage($"--iters {iterations}: must be at least 1");
        var model = result.GetValue(Model) ?? "";
        if (model.StartsWith('-')) throw ToolException.BadUsage($"unknown option '{model}' (try --help)");
        var inputs = (result.GetValue(Inputs) ?? []).Select(RunOptions.ParseInput).ToList();
        var precision = result.GetValue(Precision);
        var scales = result.GetValue(Scales);
        bool quantized = precision is "int8" or "fp8";
        if (quantized && scales is null && result.GetValue(Weights) is not null)
            throw ToolException.BadUsage($"--precision {precision} with --weights needs --scales FILE: the activation scales of a calibration (fusion-run calibrate MODEL --weights W --calib … writes them)");
        if (scales is not null && result.GetValue(Weights) is null)
            throw ToolException.BadUsage("--scales needs --weights: a scale file is tied to the weight file it was calibrated with");
        if (scales is not null && !quantized) throw ToolException.BadUsage($"--scales is for --precision int8 or fp8 (not {precision ?? "the default"})");
        if (scales is not null && !File.Exists(scales)) throw ToolException.BadInput($"--scales {scales}: file not found");
        return new RunOptions(
            Model: model,
            Assembly: result.GetValue(Assembly),
            Weights: result.GetValue(Weights),
            Inputs: inputs,
            Batch: batch,
            Device: RunOptions.ParseDevice(result.GetValue(Device) ?? "auto"),
            Precision: precision,
            Warmup: warmup,
            Iterations: iterations,
            Graphs: result.GetValue(Graphs),
            FastRun: result.GetValue(FastRun),
            Profile: result.GetValue(Profile),
            Json: result.GetValue(Json),
            Seed: result.GetValue(Seed),
            Output: CheckOutput(result.GetValue(Output)),
            Scales: scales);
    }
}
