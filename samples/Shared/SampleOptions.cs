using System.Globalization;
using Fusion;

namespace Fusion.Samples;

/// <summary>A sample's command line: a handful of options, each checked, with a clear message on a bad one.</summary>
internal sealed record SampleOptions(string Model, string? Weights, string? Input, int Batch, int Seed, int Iterations, string Device, string? Precision,
    string? Scales = null)
{
    /// <summary>The usage text of <paramref name="sample"/>: its models (when it has more than one), then the common options.</summary>
    public static string Usage(SampleDefinition sample)
    {
        bool choice = sample.Models.Count > 1;
        string indent = new(' ', sample.Name.Length + 7);
        return $"usage: {sample.Name} {(choice ? $"[--model {string.Join("|", sample.Models.Keys)}] " : "")}[--weights FILE.safetensors] [--input FILE[,FILE...]]\n" +
            $"{indent}[--batch N] [--seed S] [--iters N] [--device auto|cpu|cuda] [--precision fp32|fp16|int8|fp8] [--scales FILE]\n" +
            (choice ? $"  --model      {sample.ModelHelp}\n" : "") +
            $"  --weights    {sample.WeightsHelp} as safetensors (FP32 or FP16); random weights (seeded) when absent\n" +
            "  --input      a .npy batch [N, 3, 224, 224] (normalized), or images (JPEG, PNG, BMP, GIF, WebP, TIFF, PPM/PGM),\n" +
            $"               comma-separated for a batch (resized, centre-cropped and normalized as {sample.TransformHelp}); random when absent\n" +
            "  --precision  fp16 (default on CUDA), fp32 (default on the CPU), int8 (int8 GEMMs, the rest fp16) or fp8 (FP8 E4M3 GEMMs, sm_89+)\n" +
            "  --scales     int8's and fp8's scale file (fusion-run calibrate writes one for --weights); without it the input batch calibrates";
    }

    /// <summary>The options, or null after printing why not (<paramref name="exitCode"/> 0 for --help, 2 for a bad option).</summary>
    public static SampleOptions? Parse(string[] args, SampleDefinition sample, out int exitCode)
    {
        exitCode = 2;
        var options = new SampleOptions(sample.Models.Keys.First(), null, null, Batch: 1, Seed: 0, Iterations: 5, Device: "auto", Precision: null);
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            if (name is "-h" or "--help")
            {
                Console.WriteLine(Usage(sample));
                exitCode = 0;
                return null;
            }
            if (i + 1 >= args.Length) return Fail($"option {name} needs a value");
            string value = args[++i];
            switch (name)
            {
                case "--model" when sample.Models.Count > 1 && sample.Models.ContainsKey(value): options = options with { Model = value }; break;
                case "--weights": options = options with { Weights = value }; break;
                case "--input" when InputFiles.Problem(value) is string problem: return Fail(problem);
                case "--input": options = options with { Input = value }; break;
                case "--batch" when Positive(value) is int b: options = options with { Batch = b }; break;
                case "--iters" when Positive(value) is int n: options = options with { Iterations = n }; break;
                case "--seed" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var s): options = options with { Seed = s }; break;
                case "--device" when value is "auto" or "cpu" or "cuda": options = options with { Device = value }; break;
                case "--precision" when value is "fp32" or "fp16" or "int8" or "fp8": options = options with { Precision = value }; break;
                case "--scales" when File.Exists(value): options = options with { Scales = value }; break;
                case "--scales": return Fail($"--scales {value}: file not found");
                case "--model" when sample.Models.Count > 1:
                case "--batch" or "--iters" or "--seed" or "--device" or "--precision": return Fail($"bad value '{value}' for {name}");
                default: return Fail($"unknown option '{name}' (try --help)");
            }
        }
        if (options.Scales is not null && options.Precision is not ("int8" or "fp8")) return Fail("--scales is for --precision int8 or fp8");
        if (options.Scales is not null && options.Weights is null) return Fail("--scales needs --weights: a scale file is tied to the weight file it was calibrated with");
        exitCode = 0;
        return options;
    }

    /// <summary>
    /// The backend for a device choice (auto: CUDA when a device and its libraries are usable), with the
    /// one-line reason printed; asking for CUDA where there is none is an error, never a silent fallback.
    /// </summary>
    public static IBackend? SelectBackend(string device)
    {
        // "auto" passes no preference, so FUSION_DEVICE (when set) still decides.
        Fusion.Devices.DevicePreference? preference = device switch { "cpu" => Fusion.Devices.DevicePreference.Cpu, "cuda" => Fusion.Devices.DevicePreference.Cuda, _ => null };
        try
        {
            return Backends.Create(preference, Console.Out);
        }
        catch (FusionException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return null;
        }
    }

    private static int? Positive(string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : null;

    private static SampleOptions? Fail(string message)
    {
        Console.Error.WriteLine("error: " + message);
        return null;
    }
}
