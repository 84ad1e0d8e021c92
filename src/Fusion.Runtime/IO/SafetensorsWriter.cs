using System.Buffers.Binary;
using System.Text.Json;

namespace Fusion.IO;

/// <summary>Writes valid safetensors files: header padded to 8 bytes, tensors packed in the order given.</summary>
public static class SafetensorsWriter
{
    /// <summary>
    /// Writes the tensors to <paramref name="path"/> through a temporary file and a rename. With
    /// <paramref name="overwrite"/> false an existing file (for example the input being converted) is refused.
    /// </summary>
    public static void Write(string path, IEnumerable<SafetensorsEntry> tensors,
        IReadOnlyDictionary<string, string>? metadata = null, bool overwrite = true)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tensors);
        var list = tensors.ToList();
        var header = BuildHeader(list, metadata);
        bool written = AtomicFile.Write(path, overwrite, stream =>
        {
            Span<byte> prefix = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
            stream.Write(prefix);
            stream.Write(header);
            foreach (var t in list) stream.Write(t.Data.Span);
        });
        if (!written)
            throw new WeightFileException(path, null, "file exists and overwriting was not allowed");
    }

    /// <summary>The header JSON, checked against each entry's data and padded with spaces to a multiple of 8 bytes.</summary>
    private static byte[] BuildHeader(List<SafetensorsEntry> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata) json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var t in tensors)
            {
                ArgumentNullException.ThrowIfNull(t.Name, "tensor name");
                if (t.Name == "__metadata__" || !names.Add(t.Name))
                    throw new ArgumentException($"tensor name '{t.Name}' is reserved or used twice", nameof(tensors));
                long expected = checked(new Shape(t.Shape).ElementCount * t.DType.SizeInBytes());
                if (t.Data.Length != expected)
                    throw new ArgumentException($"tensor '{t.Name}': {t.Data.Length} bytes given, shape {Shape.Format(t.Shape)} of {t.DType} needs {expected}", nameof(tensors));
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", t.DType.ToString());
                json.WriteStartArray("shape");
                foreach (var d in t.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + expected);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += expected;
            }
            json.WriteEndObject();
        }
        // Padding keeps the data section 8-byte aligned for memory-mapped readers.
        while (buffer.Length % 8 != 0) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }
}
