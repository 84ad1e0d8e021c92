using Fusion.Testing;

namespace Fusion.Cuda.Tests;

/// <summary>Shared device, JIT with a private cache folder, and host↔device helpers for GPU tests.</summary>
[Collection(CudaCollection.Name)]
public abstract class GpuTestBase : IDisposable
{
    private readonly DirectoryInfo _cacheDir = Directory.CreateTempSubdirectory("fusion-gpu-test-");

    protected GpuTestBase()
    {
        Device = CudaTestEnvironment.RequireDevice();
        Jit = new KernelJit(Device, new KernelCache(_cacheDir.FullName));
    }

    protected CudaDevice Device { get; }

    protected KernelJit Jit { get; }

    protected string CacheDirectory => _cacheDir.FullName;

    protected Random Rng { get; } = new(Random.Shared.Next());

    /// <summary>Skips the test visibly on a GPU without thread-block clusters (compute capability below 9.0): <paramref name="what"/> needs them.</summary>
    protected void RequireClusters(string what)
    {
        if (Device.ComputeCapability < 90)
            VisibleSkip.Because("no GPU with thread-block clusters", $"{Device.Name} is {Device.Architecture}", $"{what} needs compute capability 9.0");
    }

    protected CudaTensor Upload(Half[] data, params int[] dims)
    {
        using var host = CpuTensor.FromArray(data, dims);
        return CudaTensor.FromHost(Device, host);
    }

    protected static float[] Download(CudaTensor t)
    {
        using var host = t.ToHost();
        return host.ToFloatArray();
    }

    public virtual void Dispose()
    {
        _cacheDir.Delete(recursive: true);
        GC.SuppressFinalize(this);
    }
}
