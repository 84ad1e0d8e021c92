using System.Buffers.Binary;
using System.Text;

namespace Fusion.Testing;

/// <summary>
/// Seeded mutations of valid files. Iteration <c>i</c> of seed <c>s</c> always yields the same bytes,
/// independently of the iterations before it, so one failing input reproduces on its own.
/// </summary>
public sealed class FormatFuzzer(int seed, IReadOnlyList<FuzzSeed> seeds, int focus = 160)
{
    private static readonly byte[] InterestingBytes =
        [0, 1, 0x7F, 0x80, 0xFF, (byte)'"', (byte)'{', (byte)'}', (byte)',', (byte)'-', (byte)'9', (byte)'(', (byte)')', (byte)'\'', (byte)' ', (byte)'\n', (byte)'#'];

    // Values that break length and dimension checks: zero, one, sign and width edges, the image caps' edges.
    private static readonly long[] InterestingIntegers =
        [0, 1, 2, 7, 8, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 16383, 16384, 16385, 1 << 27, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, -1, long.MaxValue];

    private static readonly string[] InterestingNumbers = ["0", "1", "-1", "65535", "16385", "2147483647", "2147483648", "4294967296", "99999999999999999999", "1e9", "0x10"];

    private const int KindCount = 10;

    public int Seed => seed;

    /// <summary>The valid files the inputs are made from.</summary>
    public IReadOnlyList<FuzzSeed> Seeds => seeds;

    /// <summary>The mutated input of <paramref name="iteration"/>, and the name of the seed it came from.</summary>
    public (string SeedName, byte[] Bytes) Mutate(int iteration)
    {
        var random = new Random(Mix(seed, iteration));
        var source = seeds[random.Next(seeds.Count)];
        return (source.Name, Mutate(random, source));
    }

    /// <summary>A SplitMix64 step over (seed, iteration): neighbouring iterations get unrelated streams.</summary>
    private static int Mix(int seed, int iteration)
    {
        ulong z = ((ulong)(uint)seed << 32 | (uint)iteration) + 0x9E3779B97F4A7C15;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return (int)(z ^ (z >> 31));
    }

    private byte[] Mutate(Random random, FuzzSeed source)
    {
        var bytes = (byte[])source.Bytes.Clone();
        if (bytes.Length == 0) return Noise(random, bytes);
        // Most mutations land in the first `focus` bytes (the headers), where the parsing happens.
        int Pick(int length) => random.Next(4) == 0 ? random.Next(length) : random.Next(Math.Min(focus, length));
        switch (random.Next(KindCount))
        {
            case 0: // flip bits
                for (int i = random.Next(1, 5); i > 0; i--) bytes[Pick(bytes.Length)] ^= (byte)(1 << random.Next(8));
                return bytes;
            case 1: // set bytes to values parsers branch on
                for (int i = random.Next(1, 4); i > 0; i--) bytes[Pick(bytes.Length)] = InterestingBytes[random.Next(InterestingBytes.Length)];
                return bytes;
            case 2: // truncate
                return bytes[..random.Next(bytes.Length)];
            case 3: // delete a slice
            {
                int at = Pick(bytes.Length), length = random.Next(1, Math.Min(16, bytes.Length - at) + 1);
                return [.. bytes[..at], .. bytes[(at + length)..]];
            }
            case 4: // duplicate a slice somewhere else (repeated chunks, segments, IFD entries)
            {
                int from = Pick(bytes.Length), length = random.Next(1, Math.Min(24, bytes.Length - from) + 1), to = Pick(bytes.Length);
                return [.. bytes[..to], .. bytes.AsSpan(from, length), .. bytes[to..]];
            }
            case 5: // a known length or dimension field set to a boundary value, or nudged by a little
            case 6:
                if (source.Fields.Count == 0) goto case 7;
                WriteField(random, bytes, source.Fields[random.Next(source.Fields.Count)]);
                return bytes;
            case 7: // an integer of any width and byte order at any offset: fields nobody listed
            {
                int size = 1 << random.Next(1, 4);
                WriteField(random, bytes, new FuzzField(Math.Max(0, Pick(bytes.Length) - size + 1), size, random.Next(2) == 0));
                return bytes;
            }
            case 8: // a decimal number in a text header (JSON, a Python dict, a Netpbm header) replaced
                return ReplaceNumber(random, bytes) ?? Noise(random, bytes);
            default:
                return Noise(random, bytes);
        }
    }

    private static void WriteField(Random random, byte[] bytes, FuzzField field)
    {
        if (field.Offset + field.Size > bytes.Length) return;
        var span = bytes.AsSpan(field.Offset, field.Size);
        long old = Read(span, field.BigEndian);
        long value = random.Next(3) switch
        {
            0 => old + random.Next(-3, 4),
            1 => old * (random.Next(2) == 0 ? 2 : 1000),
            _ => InterestingIntegers[random.Next(InterestingIntegers.Length)],
        };
        Span<byte> wide = stackalloc byte[8];
        if (field.BigEndian)
        {
            BinaryPrimitives.WriteInt64BigEndian(wide, value);
            wide[(8 - field.Size)..].CopyTo(span);
        }
        else
        {
            BinaryPrimitives.WriteInt64LittleEndian(wide, value);
            wide[..field.Size].CopyTo(span);
        }
    }

    private static long Read(ReadOnlySpan<byte> span, bool bigEndian)
    {
        long value = 0;
        for (int i = 0; i < span.Length; i++)
            value |= (long)span[bigEndian ? span.Length - 1 - i : i] << (8 * i);
        return value;
    }

    private byte[]? ReplaceNumber(Random random, byte[] bytes)
    {
        int limit = Math.Min(bytes.Length, focus * 4);
        var starts = new List<int>();
        for (int i = 0; i < limit; i++)
            if (char.IsAsciiDigit((char)bytes[i]) && (i == 0 || !char.IsAsciiDigit((char)bytes[i - 1]))) starts.Add(i);
        if (starts.Count == 0) return null;
        int start = starts[random.Next(starts.Count)], end = start;
        while (end < bytes.Length && char.IsAsciiDigit((char)bytes[end])) end++;
        var number = Encoding.ASCII.GetBytes(InterestingNumbers[random.Next(InterestingNumbers.Length)]);
        return [.. bytes[..start], .. number, .. bytes[end..]];
    }

    /// <summary>Random bytes, sometimes behind a valid prefix so the format is still recognized.</summary>
    private static byte[] Noise(Random random, byte[] bytes)
    {
        var noise = new byte[random.Next(0, 200)];
        random.NextBytes(noise);
        return random.Next(2) == 0 ? noise : [.. bytes[..Math.Min(bytes.Length, random.Next(4, 40))], .. noise];
    }
}
