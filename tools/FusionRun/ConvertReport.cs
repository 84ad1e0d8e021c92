using System.Globalization;
using System.Text.Json.Nodes;

namespace Fusion.Run;

/// <summary>
/// What <c>fusion-run convert</c> prints and writes. The --json file (schema version 1; sizes in bytes, time in milliseconds):
/// <code>
/// {
///   "schema": 1,
///   "command": "convert",
///   "tool":    { "name": "fusion-run", "version": string },
///   "options": { "input": string, "output": string, "keepF32": [string], "pad": bool, "overwrite": bool },
///   "converted": [string],          // F32 tensors written as F16, in file order
///   "keptF32":   [string],          // F32 tensors kept by the keep-list, bit for bit
///   "unchanged": [string],          // tensors of other dtypes, copied as they were
///   "padded":    [ { "name": string, "logical": [int], "stored": [int] } ],
///   "inputBytes": int, "outputBytes": int, "ratio": number (outputBytes / inputBytes),
///   "ms": number
/// }
/// </code>
/// </summary>
internal static class ConvertReport
{
    public static void Print(ConsoleReport report, ConvertResult r)
    {
        report.Field("input", r.Options.Input);
        report.Field("output", r.Options.Output);
        report.Field("converted", $"{r.Converted.Count} {Tensors(r.Converted.Count)} F32 → F16");
        report.Field("kept f32", r.KeptFloat32.Count == 0 ? "none" : $"{r.KeptFloat32.Count} {Tensors(r.KeptFloat32.Count)}");
        foreach (var name in r.KeptFloat32) report.Line("  " + name);
        if (r.Unchanged.Count > 0)
        {
            report.Field("unchanged", $"{r.Unchanged.Count} {Tensors(r.Unchanged.Count)} of other dtypes, copied");
            foreach (var name in r.Unchanged) report.Line("  " + name);
        }
        report.Field("padded", !r.Options.Pad ? "off (--no-pad)"
            : r.Padded.Count == 0 ? "none (every 2-D weight is already a multiple of 8)"
            : $"{r.Padded.Count} GEMM {(r.Padded.Count == 1 ? "weight" : "weights")} to multiples of 8, logical → stored");
        foreach (var p in r.Padded) report.Line($"  {p.Name} {new Shape(p.Logical)} → {new Shape(p.Stored)}");
        report.Field("size", string.Create(CultureInfo.InvariantCulture,
            $"{r.InputBytes:N0} → {r.OutputBytes:N0} bytes ({Mib(r.InputBytes)} → {Mib(r.OutputBytes)}), ratio {r.Ratio:F3}"));
        report.Field("time", string.Create(CultureInfo.InvariantCulture, $"{r.Milliseconds:F1} ms"));
    }

    public static JsonObject Build(ConvertResult r) => new()
    {
        ["schema"] = JsonReport.SchemaVersion,
        ["command"] = ConvertCommandLine.Name,
        ["tool"] = new JsonObject { ["name"] = "fusion-run", ["version"] = JsonReport.ToolVersion },
        ["options"] = new JsonObject
        {
            ["input"] = r.Options.Input,
            ["output"] = r.Options.Output,
            ["keepF32"] = Strings(r.Options.KeepFloat32),
            ["pad"] = r.Options.Pad,
            ["overwrite"] = r.Options.Overwrite,
        },
        ["converted"] = Strings(r.Converted),
        ["keptF32"] = Strings(r.KeptFloat32),
        ["unchanged"] = Strings(r.Unchanged),
        ["padded"] = new JsonArray(r.Padded.Select(p => (JsonNode?)new JsonObject
        {
            ["name"] = p.Name,
            ["logical"] = new JsonArray(p.Logical.Select(d => (JsonNode?)d).ToArray()),
            ["stored"] = new JsonArray(p.Stored.Select(d => (JsonNode?)d).ToArray()),
        }).ToArray()),
        ["inputBytes"] = r.InputBytes,
        ["outputBytes"] = r.OutputBytes,
        ["ratio"] = r.Ratio,
        ["ms"] = r.Milliseconds,
    };

    private static JsonArray Strings(IEnumerable<string> values) => new(values.Select(v => (JsonNode?)v).ToArray());

    private static string Tensors(int count) => count == 1 ? "tensor" : "tensors";

    private static string Mib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024.0):F2} MiB");
}
