using Fusion.IO;

namespace Fusion.Runtime.Tests.IO;

/// <summary>
/// Seeded fuzzing of both readers: mutated valid files and random bytes may be accepted or rejected,
/// but the only exception ever thrown is the reader's own (never IndexOutOfRange, Overflow, JsonException…).
/// </summary>
public sealed class FormatFuzzTests : TempDirectoryTest
{
    private const int Iterations = 2000;

    private static byte[] Mutate(Random random, byte[] valid, int focus)
    {
        var bytes = (byte[])valid.Clone();
        // Most mutations land in the first `focus` bytes (the header), where the parsing happens.
        int Pick(int length) => random.Next(4) == 0 ? random.Next(length) : random.Next(Math.Min(focus, length));
        switch (random.Next(7))
        {
            case 0: // flip bits
                for (int i = random.Next(1, 5); i > 0; i--) bytes[Pick(bytes.Length)] ^= (byte)(1 << random.Next(8));
                return bytes;
            case 1: // set bytes to interesting values
                byte[] interesting = [0, 0xFF, 0x7F, 0x80, (byte)'"', (byte)'{', (byte)'}', (byte)',', (byte)'-', (byte)'9', (byte)'(', (byte)')', (byte)'\''];
                for (int i = random.Next(1, 4); i > 0; i--) bytes[Pick(bytes.Length)] = interesting[random.Next(interesting.Length)];
                return bytes;
            case 2: // truncate
                return bytes[..random.Next(bytes.Length)];
            case 3: // delete a slice
            {
                int at = Pick(bytes.Length), length = random.Next(1, Math.Min(16, bytes.Length - at) + 1);
                return [.. bytes[..at], .. bytes[(at + length)..]];
            }
            case 4: // duplicate a slice somewhere else
            {
                int from = Pick(bytes.Length), length = random.Next(1, Math.Min(24, bytes.Length - from) + 1), to = Pick(bytes.Length);
                return [.. bytes[..to], .. bytes.AsSpan(from, length), .. bytes[to..]];
            }
            case 5: // a random little-endian length prefix
            {
                var value = new byte[8];
                random.NextBytes(value);
                int size = random.Next(2) == 0 ? 8 : 4;
                int at = random.Next(2) == 0 ? 0 : Math.Min(8, bytes.Length);
                for (int i = 0; i < size && at + i < bytes.Length; i++) bytes[at + i] = random.Next(3) == 0 ? (byte)0 : value[i];
                return bytes;
            }
            default: // random bytes, sometimes behind a valid prefix
            {
                var noise = new byte[random.Next(0, 200)];
                random.NextBytes(noise);
                return random.Next(2) == 0 ? noise : [.. bytes[..Math.Min(bytes.Length, 10)], .. noise];
            }
        }
    }

    private void Fuzz<TOwn>(int seed, byte[][] valid, Action<string> read) where TOwn : Exception
    {
        var random = new Random(seed);
        var path = Dir.File("fuzz.bin");
        int rejected = 0;
        for (int i = 0; i < Iterations; i++)
        {
            var source = valid[random.Next(valid.Length)];
            var bytes = Mutate(random, source, focus: Math.Min(source.Length, 160));
            File.WriteAllBytes(path, bytes);
            try
            {
                read(path);
            }
            catch (TOwn)
            {
                rejected++;
            }
            catch (Exception e)
            {
                Assert.Fail($"seed {seed}, iteration {i}: {e.GetType().Name} escaped the reader for input {Convert.ToHexString(bytes)}:\n{e}");
            }
        }
        Assert.InRange(rejected, Iterations / 4, Iterations); // the mutations do reach the checks
    }

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
        byte[][] valid =
        [
            ValidSafetensors("a.safetensors",
                SafetensorsEntry.FromFloat32("w", Values(6), [2, 3], SafetensorsDType.F32),
                SafetensorsEntry.FromFloat32("b", Values(3), [3], SafetensorsDType.F16),
                SafetensorsEntry.FromFloat32("e", [], [0, 4], SafetensorsDType.BF16)),
            ValidSafetensors("b.safetensors",
                new SafetensorsEntry("idx", SafetensorsDType.I64, [2, 2], new byte[32]),
                SafetensorsEntry.FromFloat32("s", Values(1), [], SafetensorsDType.BF16)),
        ];
        Fuzz<WeightFileException>(20240501, valid, path =>
        {
            using var file = SafetensorsFile.Open(path);
            foreach (var t in file.Tensors)
            {
                if (t.DType.IsConvertibleToFloat32()) file.ReadFloat32(t.Name);
                else file.ReadBytes(t.Name);
            }
        });
    }

    [Fact]
    public void NpyReaderThrowsOnlyNpyFormatException()
    {
        var valid = new List<byte[]>();
        foreach (var (descr, shape, bytes) in new[] { ("<f4", "(2, 3)", 24), ("<f2", "(3,)", 6), ("<i8", "()", 8), ("|u1", "(1, 1, 2)", 2), ("<f8", "(0, 2)", 0) })
        {
            for (int major = 1; major <= 3; major++)
                valid.Add(RawNpy.Build(major, RawNpy.Header(descr, shape), new byte[bytes]));
        }
        Fuzz<NpyFormatException>(20240502, [.. valid], path => NpyFile.Read(path).Dispose());
    }
}
