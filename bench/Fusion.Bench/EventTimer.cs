using Fusion.Cuda;

namespace Fusion.Bench;

/// <summary>Times device work with CUDA events: warm-up first, then the median of many timed runs.</summary>
internal static class EventTimer
{
    public static double MedianMilliseconds(CudaDevice device, CudaStream stream, Action work, int warmup = 10, int repeats = 100)
    {
        for (int i = 0; i < warmup; i++) work();
        stream.Synchronize();
        using var start = new CudaEvent(device);
        using var end = new CudaEvent(device);
        var times = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            start.Record(stream);
            work();
            end.Record(stream);
            times[i] = CudaEvent.ElapsedMilliseconds(start, end);
        }
        Array.Sort(times);
        return times[repeats / 2];
    }
}
