namespace Fusion.IO;

/// <summary>Options of an FP32 → FP16 weight-file conversion.</summary>
public sealed record PrecisionConversionOptions
{
    /// <summary>Tensors that stay FP32: exact names, or prefixes ending in '*' (e.g. "head.*"). Each entry must match something.</summary>
    public IReadOnlyList<string> KeepFloat32 { get; init; } = [];

    /// <summary>Zero-pad 2-D "*.weight" tensors (GEMM weights) to multiples of 8 and record their logical shapes, for aligned Tensor Core loads.</summary>
    public bool PadGemmWeights { get; init; } = true;

    /// <summary>Replace an existing output file (never the input).</summary>
    public bool Overwrite { get; init; }
}

/// <summary>What a conversion did, with the file sizes before and after.</summary>
public sealed record PrecisionConversionReport(
    string Input,
    string Output,
    IReadOnlyList<string> Converted,
    IReadOnlyList<string> KeptFloat32,
    IReadOnlyDictionary<string, int[]> Padded,
    long InputBytes,
    long OutputBytes);

/// <summary>
/// The two-stage way to mixed precision: convert an FP32 safetensors file to FP16 once, then load the smaller
/// file directly. The input is validated exactly as the loader validates it; the output is written to a
/// temporary file and renamed; the conversion is recorded in the output's metadata (fusion.precision,
/// fusion.converted_from, fusion.keep_f32, fusion.logical_shapes).
/// </summary>
public static class PrecisionConverter
{
    public static PrecisionConversionReport ToFloat16(string input, string output, PrecisionConversionOptions? options = null)
    {
        options ??= new PrecisionConversionOptions();
        if (string.Equals(Path.GetFullPath(input), Path.GetFullPath(output), StringComparison.Ordinal))
            throw new WeightFileException(input, null, "refusing to write the converted file over its input; choose another output path");

        using var file = SafetensorsFile.Open(input);
        // A converted file's F32 tensors are its keep-list, and converting again would replace its logical shapes.
        if (file.Metadata.TryGetValue("fusion.precision", out var precision))
        {
            file.Metadata.TryGetValue("fusion.keep_f32", out var keptBefore);
            throw new WeightFileException(input, null, $"already FP16: converted before (metadata fusion.precision = {precision}, kept FP32: " +
                $"{(string.IsNullOrEmpty(keptBefore) ? "none" : keptBefore)}); convert the original FP32 file instead");
        }
        var floats32 = file.Tensors.Where(t => t.DType == SafetensorsDType.F32).ToList();
        if (floats32.Count == 0)
        {
            var kinds = string.Join(", ", file.Tensors.Select(t => t.DType).Distinct());
            throw new WeightFileException(input, null, file.Tensors.Any(t => t.DType == SafetensorsDType.F16)
                ? $"already FP16: no F32 tensor to convert (dtypes: {kinds})"
                : $"no F32 tensor to convert (dtypes: {(kinds.Length == 0 ? "none" : kinds)})");
        }
        foreach (var pattern in options.KeepFloat32)
        {
            if (!file.Tensors.Any(t => Matches(pattern, t.Name)))
                throw new WeightFileException(input, null, $"keep-list entry '{pattern}' matches no tensor of the file");
        }

        var entries = new List<SafetensorsEntry>();
        var converted = new List<string>();
        var kept = new List<string>();
        var padded = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (var tensor in file.Tensors)
        {
            int[] shape = tensor.Shape.ToArray();
            if (tensor.DType != SafetensorsDType.F32)
            {
                entries.Add(new SafetensorsEntry(tensor.Name, tensor.DType, shape, file.ReadBytes(tensor.Name)));
                continue;
            }
            if (options.KeepFloat32.Any(p => Matches(p, tensor.Name)))
            {
                kept.Add(tensor.Name);
                entries.Add(new SafetensorsEntry(tensor.Name, tensor.DType, shape, file.ReadBytes(tensor.Name)));
                continue;
            }
            var values = file.ReadFloat32(tensor.Name);
            if (options.PadGemmWeights && IsGemmWeight(tensor.Name, shape) && shape.Any(d => d % 8 != 0))
            {
                var stored = shape.Select(d => (d + 7) / 8 * 8).ToArray();
                values = Pad(values, shape, stored);
                padded[tensor.Name] = shape;
                shape = stored;
            }
            converted.Add(tensor.Name);
            entries.Add(SafetensorsEntry.FromFloat32(tensor.Name, values, shape, SafetensorsDType.F16));
        }

        var metadata = new Dictionary<string, string>(file.Metadata, StringComparer.Ordinal)
        {
            ["fusion.precision"] = "f16",
            ["fusion.converted_from"] = "f32",
            ["fusion.keep_f32"] = string.Join(",", kept),
        };
        if (padded.Count > 0) metadata[LogicalShapes.MetadataKey] = LogicalShapes.Write(padded);
        SafetensorsWriter.Write(output, entries, metadata, options.Overwrite);
        return new PrecisionConversionReport(input, output, converted, kept, padded, new FileInfo(input).Length, new FileInfo(output).Length);
    }

    private static bool Matches(string pattern, string name) => pattern.EndsWith('*')
        ? name.StartsWith(pattern[..^1], StringComparison.Ordinal)
        : string.Equals(pattern, name, StringComparison.Ordinal);

    private static bool IsGemmWeight(string name, int[] shape) => shape.Length == 2 && name.EndsWith(".weight", StringComparison.Ordinal);

    /// <summary>Row-major 2-D zero padding of [rows, cols] to <paramref name="stored"/>.</summary>
    private static float[] Pad(float[] values, int[] logical, int[] stored)
    {
        var result = new float[stored[0] * stored[1]];
        for (int r = 0; r < logical[0]; r++) Array.Copy(values, r * logical[1], result, r * stored[1], logical[1]);
        return result;
    }
}
