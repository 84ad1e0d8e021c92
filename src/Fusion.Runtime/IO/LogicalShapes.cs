using System.Text.Json;

namespace Fusion.IO;

/// <summary>
/// The metadata entry a conversion writes when it pads a tensor: <c>fusion.logical_shapes</c>, a JSON
/// object from tensor name to the shape the model declares (the stored one is padded with zeros).
/// </summary>
public static class LogicalShapes
{
    public const string MetadataKey = "fusion.logical_shapes";

    /// <summary>The logical shapes recorded in <paramref name="metadata"/>; a malformed entry names the file.</summary>
    public static IReadOnlyDictionary<string, int[]> Read(string path, IReadOnlyDictionary<string, string> metadata)
    {
        if (!metadata.TryGetValue(MetadataKey, out var json)) return new Dictionary<string, int[]>();
        try
        {
            var shapes = JsonSerializer.Deserialize<Dictionary<string, int[]>>(json);
            if (shapes is null || shapes.Values.Any(s => s is null || s.Any(d => d < 0)))
                throw new WeightFileException(path, null, $"metadata '{MetadataKey}' must map tensor names to non-negative shapes");
            return shapes;
        }
        catch (JsonException e)
        {
            throw new WeightFileException(path, null, $"metadata '{MetadataKey}' is not a JSON object of shapes: {e.Message}", e);
        }
    }

    public static string Write(IReadOnlyDictionary<string, int[]> shapes) => JsonSerializer.Serialize(shapes);

    /// <summary>The leading block of a row-major <paramref name="stored"/>-shaped array that holds the <paramref name="logical"/> values.</summary>
    public static float[] Crop(float[] values, int[] stored, int[] logical)
    {
        if (stored.Length != logical.Length || stored.Zip(logical).Any(p => p.Second > p.First))
            throw new ArgumentException($"logical shape [{string.Join(", ", logical)}] does not fit in stored [{string.Join(", ", stored)}]");
        var result = new float[logical.Aggregate(1L, (a, d) => a * d)];
        int rank = logical.Length;
        int innerLogical = rank == 0 ? 1 : logical[^1], innerStored = rank == 0 ? 1 : stored[^1];
        long rows = rank <= 1 ? 1 : logical[..^1].Aggregate(1L, (a, d) => a * d);
        for (long row = 0; row < rows; row++)
        {
            // Map the logical row index to the stored one, axis by axis (all but the last).
            long source = 0, rest = row;
            for (int axis = rank - 2; axis >= 0; axis--)
            {
                long index = rest % logical[axis];
                rest /= logical[axis];
                long stride = 1;
                for (int a = axis + 1; a < rank - 1; a++) stride *= stored[a];
                source += index * stride;
            }
            Array.Copy(values, source * innerStored, result, row * innerLogical, innerLogical);
        }
        return result;
    }
}
