using System.Diagnostics;
using Fusion.Testing;

namespace Fusion.Cuda.Tests;

/// <summary>
/// Two real processes (fusion-run, beside the tests in the GPU bundle) compile the same kernels into one empty cache
/// folder at the same moment: both run and agree, and every entry left in the folder reads back sound.
/// </summary>
public sealed class SharedCacheProcessTests : GpuTestBase
{
    [Fact]
    public void TwoProcessesFillOneEmptyCacheTogether()
    {
        var tool = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "fusion-run.exe" : "fusion-run");
        if (!File.Exists(tool))
            VisibleSkip.Because("no fusion-run beside the tests", $"{tool} does not exist", "run the tests from the GPU bundle, scripts/gpu-bundle.sh");
        var cache = Path.Combine(CacheDirectory, "shared");
        Directory.CreateDirectory(cache);

        var processes = Enumerable.Range(0, 2).Select(_ => Start(tool, cache)).ToList();
        var results = processes.Select(p =>
        {
            var output = p.StandardOutput.ReadToEndAsync();
            var error = p.StandardError.ReadToEndAsync();
            Assert.True(p.WaitForExit(TimeSpan.FromMinutes(3)), "fusion-run did not finish in 3 minutes");
            return (Code: p.ExitCode, Output: output.Result, Error: error.Result);
        }).ToList();

        foreach (var r in results) Assert.True(r.Code == 0, $"exit {r.Code}\n{r.Error}\n{r.Output}");
        var outputs = results.Select(r => r.Output.Split('\n').Single(l => l.StartsWith("output:", StringComparison.Ordinal))).ToList();
        Assert.Equal(outputs[0], outputs[1]); // same seeded weights and input, same kernels: the same printed statistics
        var entries = new KernelCache(cache).Verify();
        Assert.True(entries.Count > 5, $"only {entries.Count} entries in {cache}");
        Assert.All(entries, e => Assert.True(e.Problem is null, $"{e.File}: {e.Problem}"));
    }

    private static Process Start(string tool, string cache)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "swin-blocks", "--device", "cuda", "--warmup", "0", "--iters", "1" }) start.ArgumentList.Add(a);
        start.Environment["FUSION_KERNEL_CACHE"] = cache;
        return Process.Start(start) ?? throw new InvalidOperationException($"{tool} did not start");
    }
}
