namespace Fusion.Kernels.Cpu;

/// <summary>
/// Splits a loop over independent items (rows, batches, row blocks) across cores, but only when
/// the work is large enough to repay the cost of scheduling: small tensors run inline.
/// </summary>
public static class Parallelism
{
    /// <summary>Below this many scalar operations in total, running inline is faster than <see cref="Parallel.For(int, int, Action{int})"/>.</summary>
    public const long MinParallelWork = 1 << 15;

    /// <summary>
    /// Cores the CPU kernels spread over: FUSION_CPU_THREADS when it is a positive number (a serving process that runs several
    /// models side by side, or a benchmark of one core), else every core the process may use.
    /// </summary>
    public static int Workers { get; set; } = FromEnvironment();

    private static int FromEnvironment() =>
        int.TryParse(Environment.GetEnvironmentVariable("FUSION_CPU_THREADS"), out int n) && n > 0 ? Math.Min(n, Environment.ProcessorCount) : Environment.ProcessorCount;

    /// <summary>
    /// Calls <paramref name="body"/>(start, end) over chunks covering [0, <paramref name="count"/>).
    /// <paramref name="workPerItem"/> is a rough operation count per item, used to decide whether to go parallel.
    /// </summary>
    public static void For(int count, long workPerItem, Action<int, int> body)
    {
        int workers = Workers;
        if (count <= 1 || workers == 1 || (long)count * workPerItem < MinParallelWork)
        {
            body(0, count);
            return;
        }
        // A few chunks per core keeps the load balanced without one task per item.
        int chunks = Math.Min(count, workers * 4);
        void Chunk(int chunk)
        {
            int start = (int)((long)count * chunk / chunks);
            int end = (int)((long)count * (chunk + 1) / chunks);
            if (end > start) body(start, end);
        }
        // The dedicated workers when they are free (one loop at a time); a second thread's loop meanwhile takes the thread pool.
        if (Pool(workers).TryRun(chunks, Chunk)) return;
        try
        {
            Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = workers }, Chunk);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // The item's own exception, as the dedicated workers rethrow it: callers see the same failure on either path.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }

    private static readonly Lock s_poolLock = new();
    private static WorkerPool? s_pool;

    /// <summary>The dedicated workers for <paramref name="workers"/> cores (remade when <see cref="Workers"/> changes).</summary>
    private static WorkerPool Pool(int workers)
    {
        var pool = Volatile.Read(ref s_pool);
        if (pool is not null && pool.Threads == workers - 1) return pool;
        lock (s_poolLock)
        {
            if (s_pool is null || s_pool.Threads != workers - 1) s_pool = new WorkerPool(workers - 1);
            return s_pool;
        }
    }
}
