using System.Diagnostics;

namespace Fusion.Kernels.Cpu;

/// <summary>
/// Dedicated threads for the CPU kernels' parallel loops. A model pass is a hundred short loops, each a few hundred
/// microseconds on many cores; a general thread pool wakes its threads for each one, and on a 16-core machine that
/// wake-up is a large part of the loop. These workers spin for a while after a loop (<see cref="SpinMicroseconds"/>),
/// so the next loop of the pass finds them awake, and only then sleep; the caller likewise spins for the loop's last items
/// before it blocks. One loop at a time: a caller that finds the pool busy (another thread's loop) is told so and runs its
/// loop another way.
/// </summary>
internal sealed class WorkerPool
{
    /// <summary>
    /// How long an idle worker keeps checking for the next loop before it sleeps, and the caller for its loop's end before
    /// it blocks: FUSION_CPU_SPIN_US, else 2 ms. On a virtual machine a sleeping vCPU can take far longer than that to wake
    /// (the lent Xeon host's Swin-T passes swung 25–60 ms with 200 µs); a process that shares its cores with other work can
    /// shorten it (0: sleep at once).
    /// </summary>
    internal static readonly int SpinMicroseconds = int.TryParse(Environment.GetEnvironmentVariable("FUSION_CPU_SPIN_US"), out int us) && us >= 0 ? us : 2000;

    private readonly SemaphoreSlim _wake = new(0);
    private int _busy;
    private int _generation;
    private int _sleeping;
    private Job? _job;

    public WorkerPool(int threads)
    {
        Threads = threads;
        for (int i = 0; i < threads; i++)
            new Thread(Work) { IsBackground = true, Name = $"fusion-cpu-{i}" }.Start();
    }

    /// <summary>Workers besides the calling thread.</summary>
    public int Threads { get; }

    /// <summary>
    /// Runs <paramref name="body"/>(i) for every i in [0, <paramref name="items"/>) on the workers and the calling thread,
    /// and returns when all are done (rethrowing the first exception); false, without running anything, when the pool is
    /// already running another caller's loop.
    /// </summary>
    public bool TryRun(int items, Action<int> body)
    {
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0) return false;
        var job = new Job(items, body);
        try
        {
            Volatile.Write(ref _job, job);
            Interlocked.Increment(ref _generation);
            int sleeping = Volatile.Read(ref _sleeping);
            if (sleeping > 0) _wake.Release(sleeping);
            job.Help();
            job.Wait(SpinMicroseconds);
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
        job.ThrowIfFailed();
        return true;
    }

    private void Work()
    {
        int seen = Volatile.Read(ref _generation);
        while (true)
        {
            var clock = Stopwatch.StartNew();
            var spinner = new SpinWait();
            while (Volatile.Read(ref _generation) == seen && clock.Elapsed.TotalMicroseconds < SpinMicroseconds) spinner.SpinOnce(-1);
            if (Volatile.Read(ref _generation) == seen)
            {
                Interlocked.Increment(ref _sleeping);
                if (Volatile.Read(ref _generation) == seen) _wake.Wait(); // a wake-up meant for another loop only costs a spin
                Interlocked.Decrement(ref _sleeping);
                continue;
            }
            seen = Volatile.Read(ref _generation);
            Volatile.Read(ref _job)?.Help();
        }
    }

    /// <summary>One loop: items handed out by a shared counter, a count of those not yet finished, the first failure.</summary>
    private sealed class Job
    {
        private readonly int _items;
        private readonly Action<int> _body;
        private readonly ManualResetEventSlim _done;
        private int _next;
        private int _remaining;
        private Exception? _failure;

        public Job(int items, Action<int> body)
        {
            _items = items;
            _body = body;
            _remaining = items;
            _done = new ManualResetEventSlim(items == 0);
        }

        public void Help()
        {
            while (true)
            {
                int i = Interlocked.Increment(ref _next) - 1;
                if (i >= _items) return;
                try
                {
                    _body(i);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref _failure, e, null);
                }
                if (Interlocked.Decrement(ref _remaining) == 0) _done.Set();
            }
        }

        /// <summary>
        /// Waits for the items other threads still run: spinning first (for at most <paramref name="spinMicroseconds"/>), since
        /// a caller that blocks must be woken again, which on a virtual machine can cost more than the items it waits for.
        /// </summary>
        public void Wait(int spinMicroseconds)
        {
            if (!_done.IsSet)
            {
                long deadline = Stopwatch.GetTimestamp() + spinMicroseconds * Stopwatch.Frequency / 1_000_000;
                var spinner = new SpinWait();
                while (Volatile.Read(ref _remaining) > 0 && Stopwatch.GetTimestamp() < deadline) spinner.SpinOnce(-1);
            }
            _done.Wait();
        }

        public void ThrowIfFailed()
        {
            if (_failure is { } e) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e).Throw();
        }
    }
}
