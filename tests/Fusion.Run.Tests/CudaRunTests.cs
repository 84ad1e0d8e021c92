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
