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

    /// <summary>fp32 on CUDA runs the Float plan (fused groups as their unfused chains), eager and as a graph.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SwinBlocksInFp32OnCuda(bool graphs)
    {
        CudaTestEnvironment.RequireDevice();
        var run = ToolRun.Of(["swin-blocks", "--device", "cuda", "--precision", "fp32", "--warmup", "1", "--iters", "2", .. (graphs ? new[] { "--graphs" } : [])]);
        Assert.True(run.ExitCode == 0, run.Error + run.Output);
        Assert.Contains(run.OutputLines, l => l == "device:      cuda:0 (fp32)");
        Assert.Contains(run.OutputLines, l => l.StartsWith("output:      [1, 56, 56, 96] f32", StringComparison.Ordinal));
    }

    [Fact]
    public void SwinBlocksReplayedAsACudaGraph()
    {
        CudaTestEnvironment.RequireDevice();
        var run = ToolRun.Of("swin-blocks", "--device", "cuda:0", "--warmup", "1", "--iters", "3", "--graphs");
        Assert.True(run.ExitCode == 0, run.Error + run.Output);
        Assert.Contains(run.OutputLines, l => l.StartsWith("preparation: ", StringComparison.Ordinal) && l.EndsWith("(first pass and CUDA graph capture)", StringComparison.Ordinal));
        Assert.Single(run.OutputLines, l => l.StartsWith("device: avg ", StringComparison.Ordinal));
    }
}
