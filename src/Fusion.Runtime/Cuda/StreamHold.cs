namespace Fusion.Cuda;

/// <summary>
/// Queues a kernel that keeps a stream busy for a given time (shipped stream_hold.cu), so that work the host enqueues
/// behind it (and the events around that work) is all queued before the GPU starts on it. Timing with a hold in front
/// measures the GPU alone; without one, events around a kernel of a few microseconds measure the host's launch overhead.
/// </summary>
public sealed class StreamHold : IDisposable
{
    private readonly CudaModule _module;
    private readonly CudaKernel _kernel;

    public StreamHold(KernelJit jit)
    {
        ArgumentNullException.ThrowIfNull(jit);
        _module = jit.LoadShipped("stream_hold.cu");
        _kernel = _module.GetKernel("fusion_stream_hold");
    }

    /// <summary>Queues a hold of <paramref name="duration"/> on <paramref name="stream"/> (the host does not wait).</summary>
    public void Hold(CudaStream stream, TimeSpan duration)
    {
        long nanoseconds = Math.Max(0, (long)(duration.TotalMilliseconds * 1e6));
        _kernel.Launch(stream, 1, 1, new KernelArguments().Long(nanoseconds));
    }

    /// <summary>
    /// A hold long enough for the host to queue work that took it <paramref name="enqueue"/> to queue before: three times that, at
    /// least 50 µs and at most <paramref name="longest"/>.
    /// </summary>
    public static TimeSpan Covering(TimeSpan enqueue, TimeSpan longest)
        => TimeSpan.FromTicks(Math.Clamp(3 * enqueue.Ticks, TimeSpan.FromMicroseconds(50).Ticks, longest.Ticks));

    /// <summary>
    /// Median device milliseconds of <paramref name="work"/> (queued on <paramref name="stream"/>) over <paramref name="repeats"/> timed runs
    /// after <paramref name="warmup"/> untimed ones, each timed run queued behind a hold <see cref="Covering"/> the time the host took to
    /// queue the last warm-up run (at most 20 ms; earlier warm-ups may include compiling), so the events see the GPU only.
    /// </summary>
    public double MedianMilliseconds(CudaDevice device, CudaStream stream, Action work, int warmup, int repeats)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(warmup, 1);
        var enqueue = TimeSpan.Zero;
        for (int i = 0; i < warmup; i++)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            work();
            enqueue = clock.Elapsed;
        }
        var hold = Covering(enqueue, TimeSpan.FromMilliseconds(20));
        return EventTiming.MedianMilliseconds(device, stream, work, warmup: 0, repeats, beforeEach: () => Hold(stream, hold));
    }

    public void Dispose() => _module.Dispose();
}
