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
    /// Calls <paramref name="body"/>(start, end) over chunks covering [0, <paramref name="count"/>).
    /// <paramref name="workPerItem"/> is a rough operation count per item, used to decide whether to go parallel.
    /// </summary>
    public static void For(int count, long workPerItem, Action<int, int> body)
    {
        int workers = Environment.ProcessorCount;
        if (count <= 1 || workers == 1 || (long)count * workPerItem < MinParallelWork)
        {
            body(0, count);
            return;
        }
        // A few chunks per core keeps the load balanced without one task per item.
        int chunks = Math.Min(count, workers * 4);
        Parallel.For(0, chunks, chunk =>
        {
            int start = (int)((long)count * chunk / chunks);
            int end = (int)((long)count * (chunk + 1) / chunks);
            if (end > start) body(start, end);
        });
    }
}
