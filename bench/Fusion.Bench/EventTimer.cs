using Fusion.Cuda;

namespace Fusion.Bench;

/// <summary>Times device work with CUDA events: warm-up first, then the median of many timed runs.</summary>
internal static class EventTimer
{
    public static double MedianMilliseconds(CudaDevice device, CudaStream stream, Action work, int warmup = 10, int repeats = 100)
        => EventTiming.MedianMilliseconds(device, stream, work, warmup, repeats);
}
