namespace Fusion.Devices;

/// <summary>The device chosen and, in one line, why.</summary>
public sealed record DeviceChoice(DeviceKind Device, string Reason)
{
    public override string ToString() => $"fusion: using {Device.ToString().ToLowerInvariant()}: {Reason}";
}

/// <summary>
/// Picks the device: an explicit API option wins, then FUSION_DEVICE=cpu|cuda|auto, then auto.
/// Asking for CUDA where there is none is an error, never a silent fallback to the CPU.
/// </summary>
public static class DeviceSelection
{
    public const string EnvironmentVariable = "FUSION_DEVICE";

    /// <summary>Resolves the device for this process, probing CUDA only when it matters.</summary>
    public static DeviceChoice Select(DevicePreference? option = null)
        => Select(option, Environment.GetEnvironmentVariable(EnvironmentVariable), CudaAvailability.Probe);

    /// <summary>The decision itself, with the environment value and the CUDA probe passed in (tests supply their own).</summary>
    public static DeviceChoice Select(DevicePreference? option, string? environmentValue, Func<CudaAvailability> probe)
    {
        var (preference, source) = option is { } o ? (o, "requested by the API option")
            : ParseEnvironment(environmentValue) is { } e ? (e, $"requested by {EnvironmentVariable}={environmentValue!.Trim()}")
            : (DevicePreference.Auto, "auto");
        switch (preference)
        {
            case DevicePreference.Cpu:
                return new DeviceChoice(DeviceKind.Cpu, source);
            case DevicePreference.Cuda:
            {
                var cuda = probe();
                if (!cuda.IsAvailable)
                    throw new FusionException($"CUDA was {source} but is not usable here: {cuda.Reason}");
                return new DeviceChoice(DeviceKind.Cuda, $"{source}; {cuda.Reason}");
            }
            default:
            {
                var cuda = probe();
                return cuda.IsAvailable
                    ? new DeviceChoice(DeviceKind.Cuda, $"{source}: {cuda.Reason}")
                    : new DeviceChoice(DeviceKind.Cpu, $"{source}: no usable CUDA ({cuda.Reason})");
            }
        }
    }

    private static DevicePreference? ParseEnvironment(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        return value.Trim().ToLowerInvariant() switch
        {
            "cpu" => DevicePreference.Cpu,
            "cuda" or "gpu" => DevicePreference.Cuda,
            "auto" => DevicePreference.Auto,
            _ => throw new FusionException($"{EnvironmentVariable}='{value}' is not a device; use cpu, cuda or auto"),
        };
    }
}
