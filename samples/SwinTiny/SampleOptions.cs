using System.Globalization;
using Fusion;

namespace SwinTiny;

/// <summary>The sample's command line: a handful of options, each checked, with a clear message on a bad one.</summary>
internal sealed record SampleOptions(int Batch, int Seed, int Iterations, string Device)
{
    public const string Usage = "usage: SwinTiny [--batch N] [--seed S] [--iters N] [--device auto|cpu|cuda]";

    /// <summary>The options, or null after printing why not (<paramref name="exitCode"/> 0 for --help, 2 for a bad option).</summary>
    public static SampleOptions? Parse(string[] args, out int exitCode)
    {
        exitCode = 2;
        var options = new SampleOptions(Batch: 1, Seed: 0, Iterations: 5, Device: "auto");
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            if (name is "-h" or "--help")
            {
                Console.WriteLine(Usage);
                exitCode = 0;
                return null;
            }
            if (i + 1 >= args.Length) return Fail($"option {name} needs a value");
            string value = args[++i];
            switch (name)
            {
                case "--batch" when Positive(value) is int b: options = options with { Batch = b }; break;
                case "--iters" when Positive(value) is int n: options = options with { Iterations = n }; break;
                case "--seed" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var s): options = options with { Seed = s }; break;
                case "--device" when value is "auto" or "cpu" or "cuda": options = options with { Device = value }; break;
                case "--batch" or "--iters" or "--seed" or "--device": return Fail($"bad value '{value}' for {name}");
                default: return Fail($"unknown option '{name}' (try --help)");
            }
        }
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
