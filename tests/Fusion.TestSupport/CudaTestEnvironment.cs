using Xunit;
using Fusion.Cuda;
using Fusion.Devices;

namespace Fusion.Testing;

/// <summary>
/// The one CUDA device GPU tests share. Where there is none, a test skips with the reason shown
/// in the run's output; FUSION_REQUIRE_CUDA=1 (set on GPU machines) turns that skip into a failure.
/// </summary>
public static class CudaTestEnvironment
{
    private static readonly Lazy<CudaAvailability> s_availability = new(CudaAvailability.Probe);
    private static readonly Lazy<CudaDevice> s_device = new(() => CudaDevice.Open(0));

    public static bool IsRequired => Environment.GetEnvironmentVariable("FUSION_REQUIRE_CUDA") == "1";

    public static CudaAvailability Availability => s_availability.Value;

    /// <summary>The shared device, or a visible skip (a failure when CUDA is required).</summary>
    public static CudaDevice RequireDevice()
    {
        var a = Availability;
        if (!a.IsAvailable)
        {
            if (IsRequired) Assert.Fail($"FUSION_REQUIRE_CUDA=1 but CUDA is not usable: {a.Reason}");
            VisibleSkip.Because("no CUDA device", a.Reason, "set FUSION_REQUIRE_CUDA=1 to fail instead");
        }
        return s_device.Value;
    }
}
