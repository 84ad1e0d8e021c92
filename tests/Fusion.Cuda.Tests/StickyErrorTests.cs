using System.Diagnostics;
using System.Reflection;
using Fusion.Testing;

namespace Fusion.Cuda.Tests;

/// <summary>
/// A real illegal address in a kernel (issue 17): the CUDA context of that process is lost for good, so the backend must
/// say so at the failing synchronization and refuse every later call with a clear message, while another process keeps
/// working. The fault runs in a child process (this test executable, running only <see cref="ChildProvokesAnIllegalAddress"/>),
/// because it poisons the whole process's CUDA state; a second child (<see cref="ChildComputes"/>), started after the
/// fault, computes correctly.
/// </summary>
public sealed class StickyErrorTests : GpuTestBase
{
    private const string ChildVariable = "FUSION_TEST_STICKY_CHILD";

    private const string IllegalStore = """
        extern "C" __global__ void fusion_test_illegal_store(int* target) { target[threadIdx.x] = 1; }
        """;

    [Fact]
    public void AnIllegalAddressMakesTheChildsBackendUnusableAndANewProcessWorks()
    {
        var (code, output) = RunChild(nameof(ChildProvokesAnIllegalAddress));
        Assert.True(code == 0, $"the faulting child exited with {code}:\n{output}");
        Assert.Contains("sticky child: lost as expected", output);

        // A process started after the fault opens the device and computes correctly: the loss was the faulting process's alone.
        (code, output) = RunChild(nameof(ChildComputes));
        Assert.True(code == 0, $"the child started after the fault exited with {code}:\n{output}");
        Assert.Contains("healthy child: computed", output);

        // So does this process, which was running all along with a context of its own.
        Assert.Equal(new[] { 2f, 4f, 6f }, Doubled(Device));
    }

    [Fact(Explicit = true)]
    public void ChildProvokesAnIllegalAddress()
    {
        if (Environment.GetEnvironmentVariable(ChildVariable) != "1")
            VisibleSkip.Because("the sticky-error child runs only in its own process", $"{ChildVariable} is not 1",
                "it is started by AnIllegalAddressMakesTheChildsBackendUnusableAndANewProcessWorks");
        using var backend = new CudaBackend(Device);
        using var module = Jit.Load("fusion_test_illegal_store", IllegalStore);
        module.GetKernel("fusion_test_illegal_store").Launch(backend.Stream, 1, 32, new KernelArguments().Pointer(0x10));

        var lost = Assert.Throws<CudaDeviceLostException>(() => backend.Synchronize());
        Assert.Equal("CUDA_ERROR_ILLEGAL_ADDRESS", lost.ErrorName);
        Assert.Contains("the device is now unusable; restart the process", lost.Message);

        using var host = CpuTensor.FromArray(new[] { 1f }, 1);
        var refused = Assert.Throws<FusionException>(() => backend.FromHost(host));
        Assert.Contains("the CUDA device is unusable after an earlier error; restart the process. First error: ", refused.Message);
        Assert.Contains("CUDA_ERROR_ILLEGAL_ADDRESS", refused.Message);
        Assert.Throws<FusionException>(() => CudaDevice.Open(Device.Ordinal)); // a fresh open in this process is refused too
        TestContext.Current.SendDiagnosticMessage("sticky child: lost as expected");
        Console.WriteLine("sticky child: lost as expected");
    }

    [Fact(Explicit = true)]
    public void ChildComputes()
    {
        if (Environment.GetEnvironmentVariable(ChildVariable) != "1")
            VisibleSkip.Because("the sticky-error child runs only in its own process", $"{ChildVariable} is not 1",
                "it is started by AnIllegalAddressMakesTheChildsBackendUnusableAndANewProcessWorks");
        Assert.Equal(new[] { 2f, 4f, 6f }, Doubled(Device));
        Console.WriteLine("healthy child: computed");
    }

    /// <summary>[1, 2, 3] + itself on a new backend of <paramref name="device"/>.</summary>
    private static float[] Doubled(CudaDevice device)
    {
        using var backend = new CudaBackend(device);
        using var host = CpuTensor.FromArray(new[] { 1f, 2f, 3f }, 3);
        using var x = backend.FromHost(host);
        using var doubled = backend.Add(x, x);
        using var back = backend.ToHost(doubled);
        return back.ToFloatArray();
    }

    /// <summary>Runs the explicit test <paramref name="test"/> of this class in a new process of this test executable.</summary>
    private static (int Code, string Output) RunChild(string test)
    {
        string method = $"{typeof(StickyErrorTests).FullName}.{test}";
        var host = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            start.ArgumentList.Add(Assembly.GetExecutingAssembly().Location); // run through the muxer (dotnet test)
        foreach (var a in new[] { "-method", method, "-explicit", "only", "-diagnostics" }) start.ArgumentList.Add(a);
        start.Environment[ChildVariable] = "1";
        using var child = Process.Start(start) ?? throw new InvalidOperationException($"{host} did not start");
        var output = child.StandardOutput.ReadToEndAsync();
        var error = child.StandardError.ReadToEndAsync();
        Assert.True(child.WaitForExit(TimeSpan.FromMinutes(2)), "the child did not finish in 2 minutes");
        return (child.ExitCode, output.Result + error.Result);
    }
}
