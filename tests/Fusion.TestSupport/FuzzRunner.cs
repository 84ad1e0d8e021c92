using System.Diagnostics;
using Xunit;

namespace Fusion.Testing;

/// <summary>
/// Feeds a reader the inputs of a <see cref="FormatFuzzer"/>. Each input may be accepted or rejected with the
/// reader's own exception, whose message names the file and a rule; anything else fails the test: another
/// exception, an input read for longer than <see cref="FuzzLimits.PerInput"/>, or more managed allocation on
/// the reading thread than <see cref="FuzzLimits.AllocationBound"/> allows for the input's length.
/// </summary>
public static class FuzzRunner
{
    private const int HexPrefixBytes = 64;

    private readonly record struct Outcome(Exception? Error, long Allocated, TimeSpan Time);

    /// <summary>Runs the fuzzer against <paramref name="read"/>, writing each input to a file in <paramref name="directory"/>.</summary>
    public static FuzzReport Run<TOwn>(string format, FormatFuzzer fuzzer, Action<string> read,
        FuzzLimits limits, string directory) where TOwn : Exception
    {
        using var worker = new FuzzWorker($"fuzz {format}");
        var path = Path.Combine(directory, $"fuzz-{format}.bin");
        Outcome ReadOnWorker(byte[] bytes, string what)
        {
            File.WriteAllBytes(path, bytes);
            var task = worker.Run(() => Measure(read, path));
            if (!task.Wait(limits.PerInput))
                Assert.Fail($"{what}: the reader was still running after {limits.PerInput.TotalSeconds} s (a hang)");
            return task.Result;
        }

        // Valid seeds first: they must be accepted, and first-use costs (static tables, JIT) are paid outside the measured inputs.
        foreach (var seed in fuzzer.Seeds)
        {
            if (ReadOnWorker(seed.Bytes, $"{format} seed {seed.Name}").Error is { } error)
                Assert.Fail($"{format} seed {seed.Name} is a valid file but the reader rejected it: {error}");
        }

        var clock = Stopwatch.StartNew();
        int ran = 0, accepted = 0, rejected = 0;
        long mostAllocated = 0, mostAllocatedLength = 0;
        var slowest = TimeSpan.Zero;
        for (; ran < limits.Iterations && clock.Elapsed < limits.Overall; ran++)
        {
            var (seedName, bytes) = fuzzer.Mutate(ran);
            string what = Describe(format, fuzzer.Seed, ran, seedName, bytes);
            var outcome = ReadOnWorker(bytes, what);
            slowest = outcome.Time > slowest ? outcome.Time : slowest;
            if (outcome.Allocated > mostAllocated) (mostAllocated, mostAllocatedLength) = (outcome.Allocated, bytes.Length);
            long bound = limits.AllocationBound(bytes.Length);
            if (outcome.Allocated > bound)
                Assert.Fail($"{what}: the reader allocated {outcome.Allocated} bytes, more than the {bound} a {bytes.Length}-byte input justifies");
            switch (outcome.Error)
            {
                case null:
                    accepted++;
                    break;
                case TOwn own:
                    CheckMessage(own, path, what);
                    rejected++;
                    break;
                case var other:
                    Assert.Fail($"{what}: {other.GetType().Name} escaped the reader (only {typeof(TOwn).Name} may):\n{other}");
                    break;
            }
        }

        var report = new FuzzReport(format, fuzzer.Seed, limits.Iterations, ran, accepted, rejected, clock.Elapsed, slowest, mostAllocated, mostAllocatedLength);
        TestContext.Current.SendDiagnosticMessage(report.ToString());
        return report;
    }

    private static Outcome Measure(Action<string> read, string path)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        long start = Stopwatch.GetTimestamp();
        Exception? error = null;
        try { read(path); }
        catch (Exception e) { error = e; }
        return new Outcome(error, GC.GetAllocatedBytesForCurrentThread() - before, Stopwatch.GetElapsedTime(start));
    }

    /// <summary>The message must name the file and say which rule broke: more than the path and punctuation.</summary>
    private static void CheckMessage(Exception e, string path, string what)
    {
        if (!e.Message.Contains(path, StringComparison.Ordinal))
            Assert.Fail($"{what}: the {e.GetType().Name} does not name the file: \"{e.Message}\"");
        if (e.Message.Replace(path, "", StringComparison.Ordinal).Trim(' ', ':', '.').Length == 0)
            Assert.Fail($"{what}: the {e.GetType().Name} names the file but no rule: \"{e.Message}\"");
    }

    /// <summary>Everything needed to replay one input: the seed and iteration give its bytes, the prefix shows them.</summary>
    private static string Describe(string format, int seed, int iteration, string seedName, byte[] bytes) =>
        $"{format} fuzz seed {seed}, iteration {iteration} (from {seedName}, {bytes.Length} bytes, first {Math.Min(bytes.Length, HexPrefixBytes)}: " +
        $"{Convert.ToHexString(bytes, 0, Math.Min(bytes.Length, HexPrefixBytes))})";
}
