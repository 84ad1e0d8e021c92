using Fusion.Devices;

namespace Fusion.Cuda.Tests;

public sealed class DeviceSelectionTests
{
    private static readonly CudaAvailability Present = new(true, "found cuda:0 Test GPU");
    private static readonly CudaAvailability Absent = new(false, "the CUDA driver reports no device");

    [Fact]
    public void AutoPicksCudaWhenPresentAndSaysWhy()
    {
        var choice = DeviceSelection.Select(null, null, () => Present);
        Assert.Equal(DeviceKind.Cuda, choice.Device);
        Assert.Contains("Test GPU", choice.ToString());
        Assert.DoesNotContain('\n', choice.ToString());
    }

    [Fact]
    public void AutoFallsBackToCpuAndSaysWhy()
    {
        var choice = DeviceSelection.Select(DevicePreference.Auto, null, () => Absent);
        Assert.Equal(DeviceKind.Cpu, choice.Device);
        Assert.Contains("no device", choice.Reason);
    }

    [Fact]
    public void EnvironmentForcesCpuWithoutProbing()
    {
        var choice = DeviceSelection.Select(null, "cpu", () => throw new InvalidOperationException("must not probe"));
        Assert.Equal(DeviceKind.Cpu, choice.Device);
        Assert.Contains("FUSION_DEVICE=cpu", choice.Reason);
    }

    [Fact]
    public void AskingForCudaWithoutOneIsAnErrorNotAFallback()
    {
        var e = Assert.Throws<FusionException>(() => DeviceSelection.Select(null, "cuda", () => Absent));
        Assert.Contains("FUSION_DEVICE=cuda", e.Message);
        Assert.Contains("no device", e.Message);
        Assert.Throws<FusionException>(() => DeviceSelection.Select(DevicePreference.Cuda, null, () => Absent));
    }

    [Fact]
    public void ApiOptionBeatsEnvironment()
    {
        Assert.Equal(DeviceKind.Cpu, DeviceSelection.Select(DevicePreference.Cpu, "cuda", () => Present).Device);
    }

    [Fact]
    public void UnknownEnvironmentValueNamesTheVariable()
    {
        var e = Assert.Throws<FusionException>(() => DeviceSelection.Select(null, "tpu", () => Present));
        Assert.Contains("FUSION_DEVICE='tpu'", e.Message);
    }
}
