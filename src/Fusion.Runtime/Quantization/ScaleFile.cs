using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Fusion.IO;

namespace Fusion.Quantization;

/// <summary>
/// The clipping thresholds of a calibrated model's int8 tensors, saved beside its weights as JSON (format
/// "fusion-int8-scales", version 1): the model's name and the SHA-256 of the weight file it was calibrated with, the method,
/// and one threshold per tensor name (scale = threshold / 127). Loading checks all of it, so scales calibrated for another
/// model or another weight file are refused by name instead of quantizing with ranges that do not fit. Written atomically
/// (a temporary file and a rename): a failed save leaves the previous file.
/// </summary>
public sealed record ScaleFile(string Model, string WeightsSha256, CalibrationMethod Method, double Percentile, IReadOnlyDictionary<string, double> Thresholds)
{
    public const string Format = "fusion-int8-scales";
    public const int Version = 1;

    /// <summary>The SHA-256 of a weight file, lower-case hex: what a scale file is tied to.</summary>
    public static string HashOf(string weightsPath)
    {
        using var stream = File.OpenRead(weightsPath);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    public void Save(string path)
    {
        foreach (var (name, threshold) in Thresholds)
            if (string.IsNullOrEmpty(name) || !double.IsFinite(threshold) || threshold < 0)
                throw new ArgumentException($"scale file for {Model}: tensor '{name}' has threshold {threshold}; thresholds are finite and not negative");
        AtomicFile.Write(path, overwrite: true, stream =>
        {
            using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            json.WriteStartObject();
            json.WriteString("format", Format);
            json.WriteNumber("version", Version);
            json.WriteString("model", Model);
            json.WriteString("weights_sha256", WeightsSha256);
            json.WriteString("method", Method.ToString().ToLowerInvariant());
            json.WriteNumber("percentile", Percentile);
            json.WriteStartObject("thresholds");
            foreach (var (name, threshold) in Thresholds.OrderBy(t => t.Key, StringComparer.Ordinal)) json.WriteNumber(name, threshold);
            json.WriteEndObject();
            json.WriteEndObject();
        });
    }

    /// <summary>
    /// Reads <paramref name="path"/> and checks it belongs to <paramref name="model"/> calibrated with the weight file whose hash is
    /// <paramref name="weightsSha256"/>; any broken rule is a <see cref="ScaleFileException"/> that names it.
    /// </summary>
    public static ScaleFile Load(string path, string model, string weightsSha256)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new ScaleFileException(path, $"not a scale file: its JSON does not parse ({e.Message})", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new ScaleFileException(path, "not a scale file: the top level is not a JSON object");
            string format = String(path, root, "format");
            if (format != Format) throw new ScaleFileException(path, $"format '{format}' is not '{Format}'");
            int version = Property(path, root, "version", JsonValueKind.Number).TryGetInt32(out int v) ? v : -1;
            if (version != Version) throw new ScaleFileException(path, $"version {version} is not supported (this Fusion reads version {Version})");
            string savedModel = String(path, root, "model");
            if (savedModel != model) throw new ScaleFileException(path, $"the scales were calibrated for model '{savedModel}', not '{model}'");
            string savedWeights = String(path, root, "weights_sha256");
            if (!string.Equals(savedWeights, weightsSha256, StringComparison.OrdinalIgnoreCase))
                throw new ScaleFileException(path, $"the scales were calibrated with weights of SHA-256 {savedWeights}, not these ({weightsSha256}); calibrate again for these weights");
            string methodName = String(path, root, "method");
            if (!Enum.TryParse<CalibrationMethod>(methodName, ignoreCase: true, out var method) || !Enum.IsDefined(method))
                throw new ScaleFileException(path, $"method '{methodName}' is not max, percentile or entropy");
            double percentile = Property(path, root, "percentile", JsonValueKind.Number).GetDouble();
            var thresholds = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var entry in Property(path, root, "thresholds", JsonValueKind.Object).EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetDouble(out double t) || !double.IsFinite(t) || t < 0)
                    throw new ScaleFileException(path, $"tensor '{entry.Name}': threshold {entry.Value.GetRawText()} is not a finite, non-negative number");
                if (!thresholds.TryAdd(entry.Name, t)) throw new ScaleFileException(path, $"tensor '{entry.Name}' is listed twice");
            }
            return new ScaleFile(savedModel, savedWeights, method, percentile, thresholds);
        }
    }

    /// <summary>The threshold of <paramref name="tensor"/>, or an error naming it and the file's model.</summary>
    public double ThresholdOf(string tensor) => Thresholds.TryGetValue(tensor, out double t)
        ? t
        : throw new FusionException($"the scale file of {Model} has no threshold for tensor '{tensor}'; it was calibrated for other tensors");

    private static JsonElement Property(string path, JsonElement root, string name, JsonValueKind kind)
    {
        if (!root.TryGetProperty(name, out var value)) throw new ScaleFileException(path, $"'{name}' is missing");
        if (value.ValueKind != kind)
            throw new ScaleFileException(path, $"'{name}' is {value.ValueKind.ToString().ToLower(CultureInfo.InvariantCulture)}, not {kind.ToString().ToLower(CultureInfo.InvariantCulture)}");
        return value;
    }

    private static string String(string path, JsonElement root, string name) => Property(path, root, name, JsonValueKind.String).GetString()!;
}
