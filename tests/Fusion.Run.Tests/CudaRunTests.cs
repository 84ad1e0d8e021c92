using Fusion.Testing;

namespace Fusion.Run.Tests;

/// <summary>The CUDA paths (device times, --graphs, --fast-run, --profile with events); skipped visibly without a GPU.</summary>
public class CudaRunTests
{
    [Fact]
    public void SwinBlocksOnCudaReportsDeviceTimes()
    {
        CudaTestEnvironment.RequireDevice();
        var run = ToolRun.Of("swin-blocks", "--device", "cuda", "--warmup", "1", "--iters", "3", "--fast-run", "--profile");
        Assert.True(run.ExitCode == 0, run.Error + run.Output);
        Assert.Contains(run.OutputLines, l => l == "device:      cuda:0 (fp16)");
        Assert.Contains(run.OutputLines, l => l == "gemm:        fastrun");
        Assert.Equal(3, run.OutputLines.Count(l => l.StartsWith("iter ", StringComparison.Ordinal) && l.Contains("device")));
        Assert.Single(run.OutputLines, l => l.StartsWith("device: avg ", StringComparison.Ordinal));
        Assert.Contains(run.OutputLines, l => l.Contains("(CUDA events per call, each pass queued behind a stream hold: GPU time only)"));
        Assert.Contains(run.OutputLines, l => l.StartsWith("memory:      ", StringComparison.Ordinal) && l.Contains(" MiB reserved on the device"));
    }

    /// <summary>
    /// fp32 on CUDA runs the Float plan (fused groups as their unfused chains), eager and as a graph, and its output's printed
    /// statistics match the CPU's fp32 run of the same seeded weights and input: within 1e-4 relative (both fp32, summed in a
    /// different order; the figures are printed to 6 decimals).
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SwinBlocksInFp32OnCudaMatchTheCpu(bool graphs)
    {
        CudaTestEnvironment.RequireDevice();
        var run = ToolRun.Of(["swin-blocks", "--device", "cuda", "--precision", "fp32", "--warmup", "1", "--iters", "2", .. (graphs ? new[] { "--graphs" } : [])]);
        Assert.True(run.ExitCode == 0, run.Error + run.Output);
        Assert.Contains(run.OutputLines, l => l == "device:      cuda:0 (fp32)");
        var cpu = ToolRun.Of("swin-blocks", "--device", "cpu", "--precision", "fp32", "--warmup", "0", "--iters", "1");
        Assert.True(cpu.ExitCode == 0, cpu.Error + cpu.Output);
        var (gpuMean, gpuAbs) = OutputStatistics(run);
        var (cpuMean, cpuAbs) = OutputStatistics(cpu);
        Assert.True(Math.Abs(gpuAbs - cpuAbs) <= 1e-4 * cpuAbs, $"mean |x|: cuda {gpuAbs}, cpu {cpuAbs}");
        Assert.True(Math.Abs(gpuMean - cpuMean) <= 1e-4 * cpuAbs + 1e-6, $"mean: cuda {gpuMean}, cpu {cpuMean}");
    }

    /// <summary>Mean and mean |x| from the "output: [1, 56, 56, 96] f32, mean m, mean |x| a" line.</summary>
    private static (double Mean, double MeanAbs) OutputStatistics(ToolRun run)
    {
        var line = Assert.Single(run.OutputLines, l => l.StartsWith("output:      [1, 56, 56, 96] f32, mean ", StringComparison.Ordinal));
        var match = System.Text.RegularExpressions.Regex.Match(line, @"mean (-?[0-9.]+), mean \|x\| ([0-9.]+)$");
        Assert.True(match.Success, line);
        return (double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture),
            double.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void SwinBlocksReplayedAsACudaGraph()
    {
        CudaTestEnvironment.RequireDevice();
        using var folder = new TempFolder();
        var run = ToolRun.Of("swin-blocks", "--device", "cuda:0", "--warmup", "1", "--iters", "3", "--graphs", "--json", folder.File("run.json"));
        Assert.True(run.ExitCode == 0, run.Error + run.Output);
        Assert.Contains(run.OutputLines, l => l.StartsWith("preparation: ", StringComparison.Ordinal) && l.EndsWith("(first pass and CUDA graph capture)", StringComparison.Ordinal));
        Assert.Single(run.OutputLines, l => l.StartsWith("device: avg ", StringComparison.Ordinal));
        // The captured pass's kernels, counted from the graph's nodes: Swin's stage-1 blocks launch several (norm, attention, GEMMs).
        var graph = Assert.Single(run.OutputLines, l => l.StartsWith("graph:", StringComparison.Ordinal) && l.Contains("the captured graph's nodes"));
        var kernels = System.Text.RegularExpressions.Regex.Match(graph, @"^graph: +([0-9]+) kernels?[, ]");
        Assert.True(kernels.Success, graph);
        int count = int.Parse(kernels.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(count >= 4, graph);
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(folder.File("run.json")));
        Assert.Equal(count, json.RootElement.GetProperty("graphNodes").GetProperty("kernels").GetInt32());
    }

    /// <summary>
    /// --graphs with --profile: the timed passes replay the graph; the table times the kernels inside a second capture of the pass,
    /// with an event node between its calls. The intervals run from the first event to the last, inside the bracket of each
    /// replay, so the table's sum may not exceed the profiled replay (2 % + 5 µs for the events' resolution and rounding) and,
    /// covering every call of the pass, is most of it (at least half); the table's calls are the captured ones. --output holds
    /// the graph's first output in fp16.
    /// </summary>
    [Fact]
    public void GraphsWithProfileTimeTheKernelsInsideTheGraph()
    {
        CudaTestEnvironment.RequireDevice();
        using var folder = new TempFolder();
        var run = ToolRun.Of("swin-blocks", "--device", "cuda", "--warmup", "1", "--iters", "5", "--graphs", "--profile", "--output", folder.File("y.npy"));
        Assert.True(run.ExitCode == 0, run.Error + run.Output);
        Assert.Contains(run.OutputLines, l => l.StartsWith("profile: ", StringComparison.Ordinal) && l.Contains("CUDA event nodes between the calls inside the replayed graph"));
        var line = Assert.Single(run.OutputLines, l => l.StartsWith("graph:       replay ", StringComparison.Ordinal));
        var match = System.Text.RegularExpressions.Regex.Match(line,
            @"replay ([0-9.]+) ms .*between its ([0-9]+) calls ([0-9.]+) ms, of which the table's calls sum to ([0-9.]+) ms \(mean\); the event nodes add (-?[0-9.]+) µs a call$");
        Assert.True(match.Success, line);
        double Number(int group) => double.Parse(match.Groups[group].Value, System.Globalization.CultureInfo.InvariantCulture);
        double plain = Number(1), profiled = Number(3), sum = Number(4);
        int calls = int.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(plain > 0 && profiled > 0, line);
        Assert.True(sum <= profiled * 1.02 + 0.005 && sum >= 0.5 * profiled, line);
        var total = Assert.Single(run.OutputLines, l => l.TrimStart().StartsWith("total ", StringComparison.Ordinal));
        Assert.Equal(calls, int.Parse(total.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture));
        using var written = Fusion.IO.NpyFile.Read(folder.File("y.npy"));
        Assert.Equal(new[] { 1, 56, 56, 96 }, written.Shape.ToArray());
        Assert.Equal(DType.Float16, written.DType);
        Assert.All(written.ToFloatArray(), v => Assert.True(float.IsFinite(v)));
    }
}
