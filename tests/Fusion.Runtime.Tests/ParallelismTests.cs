using Fusion.Kernels.Cpu;

namespace Fusion.Runtime.Tests;

/// <summary>
/// The CPU kernels' parallel loop (dedicated spinning workers, the thread pool when they are busy): every item runs
/// exactly once, a failure reaches the caller, and loops from several threads at once all complete.
/// </summary>
public sealed class ParallelismTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(1000)]
    [InlineData(100_003)]
    public void EveryItemRunsExactlyOnce(int count)
    {
        for (int round = 0; round < 20; round++)
        {
            var hits = new int[count];
            Parallelism.For(count, 1L << 20, (start, end) =>
            {
                for (int i = start; i < end; i++) Interlocked.Increment(ref hits[i]);
            });
            Assert.True(hits.All(h => h == 1), $"round {round}: items run {string.Join(",", hits.Where(h => h != 1).Distinct())} times");
        }
    }

    [Fact]
    public void AFailureInAnItemReachesTheCallerAndTheNextLoopRuns()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Parallelism.For(64, 1L << 20, (start, end) =>
        {
            if (start <= 40 && 40 < end) throw new InvalidOperationException("item 40");
        }));
        Assert.Equal("item 40", e.Message);
        int total = 0;
        Parallelism.For(64, 1L << 20, (start, end) => Interlocked.Add(ref total, end - start));
        Assert.Equal(64, total);
    }

    /// <summary>
    /// A loop started while the dedicated workers are busy (here: from inside one of their items) runs on the thread pool; a failure
    /// there reaches the caller as the item's own exception too, not wrapped in an AggregateException. (Found in CI: the test above
    /// failed when another test class's loop held the workers.)
    /// </summary>
    [Fact]
    public void AFailureOnTheThreadPoolPathIsTheItemsOwnException()
    {
        if (Parallelism.Workers == 1) return; // one core: every loop runs inline, there is no second path
        Exception? inner = null;
        Parallelism.For(2, 1L << 20, (start, end) =>
        {
            if (start != 0) return;
            inner = Record.Exception(() => Parallelism.For(64, 1L << 20, (s, e) =>
            {
                if (s <= 40 && 40 < e) throw new InvalidOperationException("item 40");
            }));
        });
        Assert.IsType<InvalidOperationException>(inner);
        Assert.Equal("item 40", inner.Message);
    }

    [Fact]
    public void LoopsFromEightThreadsAtOnceAllComplete()
    {
        var sums = new long[8];
        var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
        {
            for (int round = 0; round < 200; round++)
                Parallelism.For(257, 1L << 20, (start, end) =>
                {
                    long local = 0;
                    for (int i = start; i < end; i++) local += i;
                    Interlocked.Add(ref sums[t], local);
                });
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.All(sums, s => Assert.Equal(200L * (256 * 257 / 2), s));
    }
}
