using Fusion.Devices;

namespace Fusion.Runtime.Tests;

/// <summary>IBackend is IDisposable, so <c>using var backend = Backends.Create();</c> compiles whichever backend is chosen.</summary>
public sealed class BackendDisposalTests
{
    [Fact]
    public void Backends_AreDisposable_AndTheSharedCpuBackendOutlivesDisposal()
    {
        using (var backend = Backends.Create(DevicePreference.Cpu, TextWriter.Null))
        {
            Assert.Same(CpuBackend.Instance, backend);
        }
        using var x = CpuTensor.FromArray([-1f, 2f], 2);
        using var y = CpuBackend.Instance.Relu(x);
        Assert.Equal([0f, 2f], ((CpuTensor)y).ToFloatArray());
    }
}
