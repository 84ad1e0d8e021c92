using Fusion.IO;
using Fusion.Testing;

namespace Fusion.Runtime.Tests.IO;

/// <summary>
/// Seeded fuzzing of both weight readers (10,000 inputs each, see docs/reliability.md): a mutated file may be
/// accepted or rejected, but only with the reader's own exception naming the file and the rule, within 2 s and
/// within an allocation bound the file's length justifies.
/// </summary>
public sealed class FormatFuzzTests : TempDirectoryTest
{
    /// <summary>
    /// Both readers allocate in proportion to the file: the header is read and parsed once (its text, tokens and
    /// shape arrays a small multiple of its length), and the data must fit in the file, so a tensor is at most
    /// the file's bytes widened to 4-byte elements (u1 to i32) plus one raw copy. 16 per byte covers that with
    /// room; the constant covers fixed costs (a 64 KiB stream buffer, the JSON reader's pooled arrays).
    /// </summary>
    private static readonly FuzzLimits Limits = FuzzLimits.Linear(perFileByte: 16, constant: 1 << 20);

    private byte[] ValidSafetensors(string name, params SafetensorsEntry[] entries)
    {
        var path = Dir.File(name);
        SafetensorsWriter.Write(path, entries, new Dictionary<string, string> { ["format"] = "pt" });
        return File.ReadAllBytes(path);
    }

    [Fact]
    public void SafetensorsReaderThrowsOnlyWeightFileException()
    {
        var random = new Random(11);
        float[] Values(int n) => Enumerable.Range(0, n).Select(_ => (float)random.NextDouble()).ToArray();
        FuzzField[] headerLength = [new(0, 8, BigEndian: false)];
        FuzzSeed[] seeds =
        [
            new("a.safetensors", ValidSafetensors("a.safetensors",
                SafetensorsEntry.FromFloat32("w", Values(6), [2, 3], SafetensorsDType.F32),
                SafetensorsEntry.FromFloat32("b", Values(3), [3], SafetensorsDType.F16),
                SafetensorsEntry.FromFloat32("e", [], [0, 4], SafetensorsDType.BF16)), headerLength),
            new("b.safetensors", ValidSafetensors("b.safetensors",
                new SafetensorsEntry("idx", SafetensorsDType.I64, [2, 2], new byte[32]),
                SafetensorsEntry.FromFloat32("s", Values(1), [], SafetensorsDType.BF16)), headerLength),
        ];
        var report = FuzzRunner.Run<WeightFileException>("safetensors", new FormatFuzzer(20240501, seeds), path =>
        {
            using var file = SafetensorsFile.Open(path);
            foreach (var t in file.Tensors)
            {
                if (t.DType.IsConvertibleToFloat32()) file.ReadFloat32(t.Name);
                else file.ReadBytes(t.Name);
            }
        }, Limits, Dir.Path);
        AssertReachedTheChecks(report);
    }

    [Fact]
    public void NpyReaderThrowsOnlyNpyFormatException()
    {
        var seeds = new List<FuzzSeed>();
        foreach (var (descr, shape, bytes) in new[] { ("<f4", "(2, 3)", 24), ("<f2", "(3,)", 6), ("<i8", "()", 8), ("|u1", "(1, 1, 2)", 2), ("<f8", "(0, 2)", 0) })
        {
            for (int major = 1; major <= 3; major++)
                seeds.Add(new($"{descr}{shape}.v{major}.npy", RawNpy.Build(major, RawNpy.Header(descr, shape), new byte[bytes]),
                    [new FuzzField(8, major == 1 ? 2 : 4, BigEndian: false)])); // the header length after magic and version
        }
        var report = FuzzRunner.Run<NpyFormatException>("npy", new FormatFuzzer(20240502, seeds), path => NpyFile.Read(path).Dispose(), Limits, Dir.Path);
        AssertReachedTheChecks(report);
    }

    /// <summary>The whole run finished, and the mutations both reached the readers' checks and left some files valid.</summary>
    private static void AssertReachedTheChecks(FuzzReport report)
    {
        Assert.False(report.StoppedEarly, report.ToString());
        Assert.InRange(report.Rejected, report.Ran / 4, report.Ran);
        Assert.True(report.Accepted > 0, report.ToString());
    }
}
