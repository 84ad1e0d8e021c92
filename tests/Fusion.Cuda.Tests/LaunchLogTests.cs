namespace Fusion.Cuda.Tests;

/// <summary>FUSION_LAUNCH_LOG (what scripts/sanitize.sh counts as covered): each launched kernel's name, once.</summary>
public sealed class LaunchLogTests : GpuTestBase
{
    [Fact]
    public void EachLaunchedKernelIsLoggedOnce()
    {
        using var cuda = new CudaBackend(Device, new KernelCache(CacheDirectory));
        var path = Path.Combine(CacheDirectory, "launches.txt");
        var values = Enumerable.Range(0, 37).Select(i => (float)Math.Sin(i)).ToArray();
        using var host = CpuTensor.FromArray(values, 37);
        using var x = cuda.FromHost(host);
        LaunchLog.Start(path);
        try
        {
            using (cuda.Softmax(x)) { }
            using (cuda.Softmax(x)) { }
            using (cuda.Add(x, x)) { }
            cuda.Synchronize();
        }
        finally
        {
            LaunchLog.Stop();
        }
        var names = File.ReadAllLines(path);
        Assert.Equal(2, names.Length); // the softmax once though launched twice, and the add's kernel
        Assert.Equal("backend_softmax_f32", names[0]);
        Assert.NotEqual(names[0], names[1]);
        using (cuda.Softmax(x)) { } // stopped: nothing more is written
        Assert.Equal(2, File.ReadAllLines(path).Length);
    }
}
