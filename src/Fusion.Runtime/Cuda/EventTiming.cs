namespace Fusion.Cuda;

/// <summary>Device time of queued work measured with CUDA events: warm-up runs first, then the median of timed runs.</summary>
public static class EventTiming
{
    /// <param name="beforeEach">Queued before each timed run's start event (e.g. a <see cref="StreamHold"/>); not timed.</param>
    public static double MedianMilliseconds(CudaDevice device, CudaStream stream, Action work, int warmup, int repeats, Action? beforeEach = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(repeats, 1);
        for (int i = 0; i < warmup; i++) work();
        stream.Synchronize();
        using var start = new CudaEvent(device);
        using var end = new CudaEvent(device);
        var times = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            beforeEach?.Invoke();
            start.Record(stream);
            work();
            end.Record(stream);
            times[i] = CudaEvent.ElapsedMilliseconds(start, end);
        }
        Array.Sort(times);
        return times[repeats / 2];
    }
}
