using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Fusion.Run;

/// <summary>
/// The --json file: every figure of a run, for scripts. Schema (version 1; times in milliseconds; null where a figure does
/// not apply, e.g. device times on the CPU):
/// <code>
/// {
///   "schema": 1,
///   "tool":    { "name": "fusion-run", "version": string },
///   "runtime": { "dotnet": string, "os": string, "fusionRuntime": string },
///   "device":  { "name": string ("cpu", "cuda:0"), "reason": string, "precision": "fp16" | "fp32", "gemmPolicy": string | null },
///   "options": { "model": string, "assembly": string | null, "weights": string | null, "inputs": [string],
///                "batch": int, "device": string, "precision": string | null, "warmup": int, "iters": int,
///                "graphs": bool, "fastRun": bool, "profile": bool, "seed": int, "output": string | null },
///   "model":   { "name": string, "operators": int, "generatedKernels": int, "parameters": int, "weights": string, "inputs": [string] },
///   "loadMs": number,
///   "preparationMs": number,
///   "warmup":     [ { "index": int, "wallMs": number, "deviceMs": number | null } ],
///   "iterations": [ { "index": int, "wallMs": number, "deviceMs": number | null } ],
///   "stats": { "wall":   { "count": int, "mean": number, "median": number, "std": number, "min": number, "max": number },
///              "device": { same } | null },
///   "output": string,
///   "deviceMemoryBytes": int | null (bytes the CUDA allocator holds after the timed passes: parameters, constants, activations, cache),
///   "graphNodes": null | { "kernels": int, "copies": int, "memsets": int, "other": int } (--graphs: the captured pass's nodes),
///   "profile": null | { "runs": int, "clock": string, "totalMs": number,
///                       "kernels": [ { "name": string, "calls": number, "totalMs": number, "share": number } ] }
/// }
/// </code>
/// "std" is the sample standard deviation (n − 1). Profile figures are per forward pass; "share" is a percentage.
/// </summary>
internal static class JsonReport
{
    public const int SchemaVersion = 1;

    public static string ToolVersion => typeof(JsonReport).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "unknown";

    public static JsonObject Build(RunResult r)
    {
        var o = r.Options;
        return new JsonObject
        {
            ["schema"] = SchemaVersion,
            ["tool"] = new JsonObject { ["name"] = "fusion-run", ["version"] = ToolVersion },
            ["runtime"] = new JsonObject
            {
                ["dotnet"] = RuntimeInformation.FrameworkDescription,
                ["os"] = RuntimeInformation.OSDescription,
                ["fusionRuntime"] = typeof(IFusedModel).Assembly.GetName().Version?.ToString() ?? "unknown",
            },
            ["device"] = new JsonObject { ["name"] = r.Device, ["reason"] = r.DeviceReason, ["precision"] = r.Precision, ["gemmPolicy"] = r.GemmPolicy },
            ["options"] = new JsonObject
            {
                ["model"] = o.Model,
                ["assembly"] = o.Assembly,
                ["weights"] = o.Weights,
                ["inputs"] = new JsonArray(o.Inputs.Select(i => (JsonNode?)JsonValue.Create(i.Name is null ? i.Path : $"{i.Name}:{i.Path}")).ToArray()),
                ["batch"] = o.Batch,
                ["device"] = o.DeviceText,
                ["precision"] = o.Precision,
                ["warmup"] = o.Warmup,
                ["iters"] = o.Iterations,
                ["graphs"] = o.Graphs,
                ["fastRun"] = o.FastRun,
                ["profile"] = o.Profile,
                ["seed"] = o.Seed,
                ["output"] = o.Output,
            },
            ["model"] = new JsonObject
            {
                ["name"] = r.ModelName,
                ["operators"] = r.OperatorCount,
                ["generatedKernels"] = r.GeneratedKernels,
                ["parameters"] = r.ParameterCount,
                ["weights"] = r.WeightsSource,
                ["inputs"] = new JsonArray(r.InputDescriptions.Select(d => (JsonNode?)JsonValue.Create(d)).ToArray()),
            },
            ["loadMs"] = r.LoadMs,
            ["preparationMs"] = r.PreparationMs,
            ["warmup"] = Records(r.Warmups),
            ["iterations"] = Records(r.Iterations),
            ["stats"] = new JsonObject { ["wall"] = Stats(r.Wall), ["device"] = r.DeviceTime is null ? null : Stats(r.DeviceTime) },
            ["output"] = r.OutputDescription,
            ["deviceMemoryBytes"] = r.DeviceMemoryBytes,
            ["graphNodes"] = r.GraphNodes is not { } nodes ? null : new JsonObject
            {
                ["kernels"] = nodes.Kernels,
                ["copies"] = nodes.Copies,
                ["memsets"] = nodes.Memsets,
                ["other"] = nodes.EventRecords + nodes.Other,
            },
            ["profile"] = r.Profile is null ? null : new JsonObject
            {
                ["runs"] = r.Profile.Runs,
                ["clock"] = r.Profile.Clock,
                ["totalMs"] = r.Profile.TotalMsPerRun,
                ["kernels"] = new JsonArray(r.Profile.Rows.Select(k => (JsonNode?)new JsonObject
                {
                    ["name"] = k.Name,
                    ["calls"] = k.CallsPerRun,
                    ["totalMs"] = k.TotalMsPerRun,
                    ["share"] = k.SharePercent,
                }).ToArray()),
            },
        };
    }

    public static void Write(string path, RunResult result) => Write(path, Build(result));

    /// <summary>Writes <paramref name="json"/> indented to <paramref name="path"/>, making its folder; a failure is a <see cref="ToolException"/>.</summary>
    public static void Write(string path, JsonNode json)
    {
        var text = json.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        try
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (directory is not null) Directory.CreateDirectory(directory);
            File.WriteAllText(path, text + Environment.NewLine);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ToolException(ToolException.Failure, $"--json {path}: cannot write ({e.Message})");
        }
    }

    private static JsonArray Records(IReadOnlyList<IterationRecord> records) =>
        new(records.Select(x => (JsonNode?)new JsonObject { ["index"] = x.Index, ["wallMs"] = x.WallMs, ["deviceMs"] = x.DeviceMs }).ToArray());

    private static JsonObject Stats(TimingStats s) =>
        new() { ["count"] = s.Count, ["mean"] = s.Mean, ["median"] = s.Median, ["std"] = s.StdDev, ["min"] = s.Min, ["max"] = s.Max };
}
