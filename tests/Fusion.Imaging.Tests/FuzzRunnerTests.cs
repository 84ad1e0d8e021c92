using Fusion.Runtime.Tests.IO;
using Fusion.Testing;

namespace Fusion.Imaging.Tests;

/// <summary>The fuzz runner itself: it must fail on each kind of misbehaviour, with what a replay needs, and replay exactly.</summary>
public sealed class FuzzRunnerTests : TempDirectoryTest
{
    private static readonly FuzzSeed[] Seeds = [new("text", "{\"a\": [1, 2, 3], \"b\": 40}"u8.ToArray(), [new FuzzField(0, 4, BigEndian: false)])];

    private string FailureOf(Action<string> read, FuzzLimits? limits = null)
    {
        var run = () => FuzzRunner.Run<InvalidDataException>("test", new FormatFuzzer(7, Seeds), read,
            limits ?? FuzzLimits.Linear(16, 1 << 20) with { Iterations = 50 }, Dir.Path);
        return Assert.ThrowsAny<Exception>(run).Message;
    }

    [Fact]
    public void MutationsReplayFromSeedAndIterationAlone()
    {
        var fuzzer = new FormatFuzzer(7, Seeds);
        var forward = Enumerable.Range(0, 200).Select(i => fuzzer.Mutate(i).Bytes).ToArray();
        Assert.Equal(forward[137], new FormatFuzzer(7, Seeds).Mutate(137).Bytes);
        Assert.True(forward.Distinct(new ByteArrayComparer()).Count() > 150); // the iterations differ from each other
        Assert.NotEqual(forward[137], new FormatFuzzer(8, Seeds).Mutate(137).Bytes);
    }

    [Fact]
    public void ForeignExceptionFailsNamingSeedIterationAndBytes()
    {
        var message = FailureOf(path => { if (File.ReadAllBytes(path).Length % 2 == 0) throw new IndexOutOfRangeException("bad"); });
        Assert.Contains("test fuzz seed 7, iteration ", message, StringComparison.Ordinal);
        Assert.Contains("IndexOutOfRangeException escaped the reader", message, StringComparison.Ordinal);
        Assert.Matches("first [0-9]+: [0-9A-F]*\\)", message);
    }

    /// <summary>The seed itself must be accepted; the rejection under test is for the mutated inputs.</summary>
    private static bool IsSeed(string path) => File.ReadAllBytes(path).AsSpan().SequenceEqual(Seeds[0].Bytes);

    [Fact]
    public void OwnExceptionWithoutTheFileNameFails() =>
        Assert.Contains("does not name the file", FailureOf(path => { if (!IsSeed(path)) throw new InvalidDataException("some rule"); }), StringComparison.Ordinal);

    [Fact]
    public void OwnExceptionWithOnlyTheFileNameFails() =>
        Assert.Contains("names the file but no rule", FailureOf(path => { if (!IsSeed(path)) throw new InvalidDataException(path + ":"); }), StringComparison.Ordinal);

    [Fact]
    public void HangFailsNamingTheIteration()
    {
        var message = FailureOf(_ => Thread.Sleep(2000), FuzzLimits.Linear(16, 1 << 20) with { PerInput = TimeSpan.FromMilliseconds(100) });
        // The seed itself is read first, so the hang is reported there.
        Assert.Contains("test seed text: the reader was still running after 0.1 s (a hang)", message, StringComparison.Ordinal);
    }

    [Fact]
    public void AllocationAboveTheBoundFails()
    {
        var message = FailureOf(path => GC.KeepAlive(new byte[File.ReadAllBytes(path).Length * 1000]), FuzzLimits.Linear(16, 4096) with { Iterations = 50 });
        Assert.Matches("iteration [0-9]+ .*: the reader allocated [0-9]+ bytes, more than the [0-9]+ a [0-9]+-byte input justifies", message);
    }

    [Fact]
    public void TimeCapStopsEarlyAndSaysHowFarItGot()
    {
        var report = FuzzRunner.Run<InvalidDataException>("test", new FormatFuzzer(7, Seeds), _ => Thread.Sleep(5),
            FuzzLimits.Linear(16, 1 << 20) with { Overall = TimeSpan.FromMilliseconds(200) }, Dir.Path);
        Assert.True(report.StoppedEarly);
        Assert.InRange(report.Ran, 1, 100);
        Assert.Contains($"{report.Ran} of 10000 inputs", report.ToString(), StringComparison.Ordinal);
    }

    private sealed class ByteArrayComparer : IEqualityComparer<byte[]>
    {
        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] bytes) => bytes.Length;
    }
}
