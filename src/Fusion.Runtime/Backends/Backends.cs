using Fusion.Devices;

namespace Fusion;

/// <summary>
/// Creates the backend a model runs on, through <see cref="DeviceSelection"/>: an explicit preference wins, then
/// FUSION_DEVICE=cpu|cuda|auto, then auto (CUDA when it is usable). The choice and its reason are written as one line.
/// A <see cref="CudaBackend"/> owns its device: dispose the backend when done (<c>using var backend = Backends.Create();</c>;
/// disposing the shared <see cref="CpuBackend"/> does nothing).
/// </summary>
public static class Backends
{
    /// <summary>The backend for <paramref name="preference"/> (null: FUSION_DEVICE, else auto); the reason line goes to <paramref name="log"/> (default stderr).</summary>
    public static IBackend Create(DevicePreference? preference = null, TextWriter? log = null)
    {
        var choice = DeviceSelection.Select(preference);
        (log ?? Console.Error).WriteLine(choice.ToString());
        return Create(choice);
    }

    /// <summary>The backend FUSION_DEVICE asks for (auto when unset).</summary>
    public static IBackend FromEnvironment(TextWriter? log = null) => Create(null, log);

    /// <summary>The backend of a choice already made: the CPU backend, or a new CUDA backend on device 0.</summary>
    public static IBackend Create(DeviceChoice choice)
    {
        ArgumentNullException.ThrowIfNull(choice);
        return choice.Device == DeviceKind.Cuda ? CudaBackend.Open(0) : CpuBackend.Instance;
    }
}
