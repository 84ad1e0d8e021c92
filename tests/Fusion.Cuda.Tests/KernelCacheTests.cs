namespace Fusion.Cuda.Tests;

/// <summary>The on-disk cache's behaviour, with a fake compiler so it runs everywhere.</summary>
public sealed class KernelCacheTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("fusion-cache-test-");
    private readonly List<string> _warnings = new();

    public void Dispose() => _dir.Delete(recursive: true);

    private KernelCache NewCache(string? dir = null) => new(dir ?? _dir.FullName, m => { lock (_warnings) _warnings.Add(m); });

    private static byte[] Payload(int seed) => Enumerable.Range(0, 1000).Select(i => (byte)(i * seed)).ToArray();

    [Fact]
    public void MissThenHit()
    {
        var key = KernelCache.Key("source", "sm_90");
        int builds = 0;
        var first = NewCache().GetOrAdd("k", key, () => { builds++; return Payload(3); }, out var o1);
        var second = NewCache().GetOrAdd("k", key, () => { builds++; return Payload(5); }, out var o2);
        Assert.Equal(KernelCacheOutcome.Miss, o1);
        Assert.Equal(KernelCacheOutcome.Hit, o2);
        Assert.Equal(1, builds);
        Assert.Equal(first, second);
        Assert.Empty(_warnings);
    }

    [Fact]
    public void VerifyReadsEveryEntryBackAndNamesTheDamagedOnes()
    {
        var cache = NewCache();
        string sound = cache.PathFor("a", KernelCache.Key("a")), flipped = cache.PathFor("b", KernelCache.Key("b"));
        cache.GetOrAdd("a", KernelCache.Key("a"), () => Payload(3), out _);
        cache.GetOrAdd("b", KernelCache.Key("b"), () => Payload(5), out _);
        var bytes = File.ReadAllBytes(flipped);
        bytes[^1] ^= 0x01;
        File.WriteAllBytes(flipped, bytes);
        var leftover = Path.Combine(_dir.FullName, "c-0.cubin.123.abc.tmp");
        File.WriteAllBytes(leftover, [1, 2, 3]);

        var entries = cache.Verify().ToDictionary(e => e.File, e => e.Problem);
        Assert.Equal(3, entries.Count);
        Assert.Null(entries[sound]);
        Assert.Equal("corrupt (checksum mismatch)", entries[flipped]);
        Assert.Equal("a temporary file left behind", entries[leftover]);
    }

    [Fact]
    public void KeyDependsOnEveryPart()
    {
        Assert.NotEqual(KernelCache.Key("a", "sm_80"), KernelCache.Key("a", "sm_90"));
        Assert.NotEqual(KernelCache.Key("ab", "c"), KernelCache.Key("a", "bc"));
    }

    [Theory]
    [InlineData("flip")]
    [InlineData("truncate")]
    [InlineData("garbage")]
    public void DamagedEntryIsDeletedAndRebuiltWithWarning(string damage)
    {
        var cache = NewCache();
        var key = KernelCache.Key("damaged", damage);
        cache.GetOrAdd("k", key, () => Payload(3), out _);
        var path = cache.PathFor("k", key);
        var bytes = File.ReadAllBytes(path);
        switch (damage)
        {
            case "flip": bytes[^10] ^= 0xFF; File.WriteAllBytes(path, bytes); break;
            case "truncate": File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]); break;
            default: File.WriteAllBytes(path, "not a cache entry"u8.ToArray()); break;
        }
        var result = NewCache().GetOrAdd("k", key, () => Payload(7), out var outcome);
        Assert.Equal(KernelCacheOutcome.Rebuilt, outcome);
        Assert.Equal(Payload(7), result);
        Assert.Contains(_warnings, w => w.Contains(path) && w.Contains("deleted, rebuilding"));
        Assert.Equal(Payload(7), NewCache().GetOrAdd("k", key, () => Payload(9), out var again));
        Assert.Equal(KernelCacheOutcome.Hit, again);
    }

    [Fact]
    public void ConcurrentWritersOfOneKeyBothSucceed()
    {
        var key = KernelCache.Key("concurrent");
        using var barrier = new Barrier(8);
        var results = new byte[8][];
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            results[i] = NewCache().GetOrAdd("k", key, () =>
            {
                barrier.SignalAndWait(TimeSpan.FromSeconds(5)); // every writer builds before any stores
                return Payload(3);
            }, out _);
        });
        Assert.All(results, r => Assert.Equal(Payload(3), r));
        Assert.Equal(KernelCacheOutcome.Hit, GetOutcome(key));
        Assert.Single(Directory.GetFiles(_dir.FullName)); // no temporary files left behind
    }

    [Fact]
    public void UnwritableDirectoryRunsUncachedWithWarning()
    {
        var file = Path.Combine(_dir.FullName, "a-file");
        File.WriteAllText(file, "x");
        var cache = NewCache(Path.Combine(file, "kernels")); // a directory below a file cannot exist, even for root
        var result = cache.GetOrAdd("k", KernelCache.Key("x"), () => Payload(3), out var outcome);
        Assert.Equal(Payload(3), result);
        Assert.Equal(KernelCacheOutcome.Uncached, outcome);
        Assert.False(cache.IsEnabled);
        Assert.Contains(_warnings, w => w.Contains("not writable") && w.Contains("running uncached"));
        cache.GetOrAdd("k", KernelCache.Key("x"), () => Payload(3), out var second);
        Assert.Equal(KernelCacheOutcome.Uncached, second);
    }

    private KernelCacheOutcome GetOutcome(string key)
    {
        NewCache().GetOrAdd("k", key, () => Payload(1), out var outcome);
        return outcome;
    }
}
