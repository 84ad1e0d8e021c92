using System.Text.Json;
using System.Text.Unicode;

namespace Fusion.IO;

/// <summary>
/// Parses and validates the JSON header of a safetensors file against the size of its data
/// section. Nothing in the header is trusted until every rule has been checked.
/// </summary>
internal static class SafetensorsHeader
{
    /// <summary>Largest header accepted, as in the reference implementation (100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private const string MetadataKey = "__metadata__";

    public static (IReadOnlyList<SafetensorsTensorInfo> Tensors, IReadOnlyDictionary<string, string> Metadata) Parse(
        string path, byte[] header, long dataLength)
    {
        if (!Utf8.IsValid(header))
            throw new WeightFileException(path, null, "header is not valid UTF-8");
        if (header.Length == 0 || header[0] != (byte)'{')
            throw new WeightFileException(path, null, "header must be a JSON object starting with '{'");

        JsonDocument document;
        try
        {
            // Depth 3 is object → tensor entry → shape list; anything deeper is malformed anyway.
            document = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 3 });
        }
        catch (JsonException e)
        {
            throw new WeightFileException(path, null, $"header is not valid JSON ({e.Message})", e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new WeightFileException(path, null, $"header must be a JSON object, found {root.ValueKind}");

            var seen = new HashSet<string>(StringComparer.Ordinal);
            var tensors = new List<SafetensorsTensorInfo>();
            IReadOnlyDictionary<string, string> metadata = new Dictionary<string, string>();
            foreach (var property in root.EnumerateObject())
            {
                // System.Text.Json keeps duplicate keys; the format forbids them.
                if (!seen.Add(property.Name))
                    throw new WeightFileException(path, property.Name, "name appears more than once in the header");
                if (property.Name == MetadataKey)
                    metadata = ParseMetadata(path, property.Value);
                else
                    tensors.Add(ParseTensor(path, property.Name, property.Value));
            }
            CheckLayout(path, tensors, dataLength);
            return (tensors, metadata);
        }
    }

    private static IReadOnlyDictionary<string, string> ParseMetadata(string path, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new WeightFileException(path, null, $"{MetadataKey} must be an object of strings, found {value.ValueKind}");
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
                throw new WeightFileException(path, null, $"{MetadataKey} entry '{entry.Name}' must be a string, found {entry.Value.ValueKind}");
            if (!metadata.TryAdd(entry.Name, entry.Value.GetString()!))
                throw new WeightFileException(path, null, $"{MetadataKey} entry '{entry.Name}' appears more than once");
        }
        return metadata;
    }

    private static SafetensorsTensorInfo ParseTensor(string path, string name, JsonElement entry)
    {
        if (entry.ValueKind != JsonValueKind.Object)
            throw new WeightFileException(path, name, $"entry must be an object with dtype, shape and data_offsets, found {entry.ValueKind}");

        JsonElement? dtypeElement = null, shapeElement = null, offsetsElement = null;
        foreach (var field in entry.EnumerateObject())
        {
            ref JsonElement? slot = ref dtypeElement;
            switch (field.Name)
            {
                case "dtype": slot = ref dtypeElement; break;
                case "shape": slot = ref shapeElement; break;
                case "data_offsets": slot = ref offsetsElement; break;
                default: throw new WeightFileException(path, name, $"unknown field '{field.Name}' (expected dtype, shape, data_offsets)");
            }
            if (slot is not null)
                throw new WeightFileException(path, name, $"field '{field.Name}' appears more than once");
            slot = field.Value;
        }

        var dtype = ParseDType(path, name, dtypeElement);
        var shape = ParseShape(path, name, shapeElement);
        var (begin, end) = ParseOffsets(path, name, offsetsElement);

        long expectedBytes;
        try { expectedBytes = checked(shape.ElementCount * dtype.SizeInBytes()); }
        catch (OverflowException) { throw new WeightFileException(path, name, $"shape {shape} of {dtype} has more bytes than fit in 64 bits"); }
        if (end - begin != expectedBytes)
            throw new WeightFileException(path, name,
                $"data_offsets [{begin}, {end}] hold {end - begin} bytes but shape {shape} of {dtype} needs {expectedBytes}");
        return new SafetensorsTensorInfo(name, dtype, shape, begin, end);
    }

    private static SafetensorsDType ParseDType(string path, string name, JsonElement? element)
    {
        if (element is not { } value)
            throw new WeightFileException(path, name, "missing field 'dtype'");
        if (value.ValueKind != JsonValueKind.String)
            throw new WeightFileException(path, name, $"dtype must be a string, found {value.ValueKind}");
        var text = value.GetString()!;
        if (!SafetensorsDTypeExtensions.TryParse(text, out var dtype))
            throw new WeightFileException(path, name, $"unknown dtype '{text}'");
        return dtype;
    }

    private static Shape ParseShape(string path, string name, JsonElement? element)
    {
        if (element is not { } value)
            throw new WeightFileException(path, name, "missing field 'shape'");
        if (value.ValueKind != JsonValueKind.Array)
            throw new WeightFileException(path, name, $"shape must be a list of non-negative integers, found {value.ValueKind}");
        var dims = new int[value.GetArrayLength()];
        long product = 1;
        int axis = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long dim))
                throw new WeightFileException(path, name, $"shape dimension {axis} must be an integer, found {item.GetRawText()}");
            if (dim < 0)
                throw new WeightFileException(path, name, $"shape dimension {axis} is negative ({dim})");
            if (dim > int.MaxValue)
                throw new WeightFileException(path, name, $"shape dimension {axis} ({dim}) exceeds {int.MaxValue}");
            try { product = checked(product * dim); }
            catch (OverflowException) { throw new WeightFileException(path, name, $"shape {value.GetRawText()} has more elements than fit in 64 bits"); }
            dims[axis++] = (int)dim;
        }
        return new Shape(dims);
    }

    private static (long Begin, long End) ParseOffsets(string path, string name, JsonElement? element)
    {
        if (element is not { } value)
            throw new WeightFileException(path, name, "missing field 'data_offsets'");
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() != 2)
            throw new WeightFileException(path, name, $"data_offsets must be a list of two integers, found {value.GetRawText()}");
        var begin = ParseOffset(path, name, value[0], "begin");
        var end = ParseOffset(path, name, value[1], "end");
        if (begin > end)
            throw new WeightFileException(path, name, $"data_offsets begin {begin} is after end {end}");
        return (begin, end);
    }

    private static long ParseOffset(string path, string name, JsonElement item, string which)
    {
        if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long offset))
            throw new WeightFileException(path, name, $"data_offsets {which} must be an integer, found {item.GetRawText()}");
        if (offset < 0)
            throw new WeightFileException(path, name, $"data_offsets {which} is negative ({offset})");
        return offset;
    }

    /// <summary>Sorted by offset, the tensors must tile the data section exactly: no gap, no overlap, nothing left over.</summary>
    private static void CheckLayout(string path, List<SafetensorsTensorInfo> tensors, long dataLength)
    {
        var ordered = tensors.OrderBy(t => t.DataBegin).ThenBy(t => t.DataEnd).ToList();
        long position = 0;
        foreach (var t in ordered)
        {
            if (t.DataBegin < position)
                throw new WeightFileException(path, t.Name, $"data_offsets [{t.DataBegin}, {t.DataEnd}] overlap the previous tensor, which ends at {position}");
            if (t.DataBegin > position)
                throw new WeightFileException(path, t.Name, $"data_offsets [{t.DataBegin}, {t.DataEnd}] leave a gap: the previous tensor ends at {position}");
            position = t.DataEnd;
        }
        if (position != dataLength)
        {
            var last = ordered.Count > 0 ? ordered[^1].Name : null;
            throw new WeightFileException(path, last,
                $"tensors cover {position} bytes of data but the data section holds {dataLength} (file length − 8 − header length)");
        }
    }
}
