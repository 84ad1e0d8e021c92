using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Fusion.Quantization;

namespace Fusion.Run;

/// <summary>What <c>fusion-run sensitivity</c> was asked to do, checked.</summary>
internal sealed record SensitivityOptions(string Model, string? Assembly, string Weights, string Scales, IReadOnlyList<string> Evaluation, int ImageBatch,
    int MaxKept, string? Json, IReadOnlyList<string>? Policies = null, bool RankLayers = true);

/// <summary>The System.CommandLine definition of <c>fusion-run sensitivity MODEL --weights W --eval FILE.npy|DIR [--scales S] …</c>.</summary>
internal sealed class SensitivityCommandLine
{
    public const string Name = "sensitivity";

    public Argument<string> Model { get; } = new("MODEL") { Description = "swin-t, swin-blocks, vit-b16, resnet-50, convnext-t, swin-t-views, or a model class with --assembly" };
    public Option<string?> Assembly { get; } = new("--assembly") { Description = "load MODEL from this .dll (a class implementing IFusedModel)" };
    public Option<string?> Weights { get; } = new("--weights") { Description = "the model's safetensors weights (required)" };
    public Option<string?> Scales { get; } = new("--scales") { Description = "the scale file fusion-run calibrate wrote for these weights (default: WEIGHTS.scales.json)" };
    public Option<string[]> Evaluation { get; } = new("--eval")
    {
        Description = "a .npy batch of the model's input, an image file, or a folder of them, other than the calibration set (repeatable)",
        AllowMultipleArgumentsPerToken = false,
    };
    public Option<int> ImageBatch { get; } = new("--eval-batch") { Description = "samples per evaluation batch: image files grouped, a .npy cut along its first axis", DefaultValueFactory = _ => CalibrateCommandLine.DefaultImageBatch };
    public Option<int> MaxKept { get; } = new("--keep-steps")
    {
        Description = "how many of the most sensitive layers the whole-plan steps keep at higher precision, one more a step", DefaultValueFactory = _ => QuantizationSensitivity.DefaultMaxKept,
    };
    public Option<bool> NoRanking { get; } = new("--no-ranking")
    {
        Description = "skip the pass a layer and the keep steps that follow its ranking: only the whole plan int8 and each --policy (two passes and one a policy)",
    };
    public Option<string?> Json { get; } = new("--json") { Description = "also write the report as JSON to this file" };
    public Option<string[]> Policies { get; } = new("--policy")
    {
        Description = "also simulate the whole plan keeping this keep-list at higher precision: layer paths as KeepHalfInInt8 takes them, comma-separated, '*' for one segment (repeatable)",
        AllowMultipleArgumentsPerToken = false,
    };

    public Command Command { get; }

    public SensitivityCommandLine()
    {
        Command = new Command(Name, "rank the Linears of a model's Int8 plan by the accuracy int8 costs each (simulated on the eager FP32 Forward), and the plan's accuracy keeping the worst at higher precision");
        Command.Arguments.Add(Model);
        foreach (Option option in new Option[] { Assembly, Weights, Scales, Evaluation, ImageBatch, MaxKept, Policies, NoRanking, Json })
            Command.Options.Add(option);
    }

    /// <summary>An unknown option, left over or taken by the parser for MODEL, or null.</summary>
    public string? UnknownOption(ParseResult result) =>
        (result.GetResult(Model)?.Tokens ?? []).Select(t => t.Value).Concat(result.UnmatchedTokens).FirstOrDefault(v => v.StartsWith('-'));

    /// <summary>The checked options of a parse result without errors.</summary>
    public SensitivityOptions Read(ParseResult result)
    {
        if (UnknownOption(result) is string unknown) throw ToolException.BadUsage($"unknown option '{unknown}' (try fusion-run sensitivity --help)");
        var weights = result.GetValue(Weights) ?? throw ToolException.BadUsage("sensitivity needs --weights: the scales are tied to the weight file they were calibrated with");
        var evaluation = result.GetValue(Evaluation) ?? [];
        if (evaluation.Length == 0) throw ToolException.BadUsage("sensitivity needs --eval FILE.npy, image files, or a folder of them (not the calibration set)");
        int imageBatch = result.GetValue(ImageBatch);
        if (imageBatch < 1) throw ToolException.BadUsage($"--eval-batch {imageBatch}: at least one image per batch");
        int maxKept = result.GetValue(MaxKept);
        if (maxKept < 0) throw ToolException.BadUsage($"--keep-steps {maxKept}: zero or more");
        bool rank = !result.GetValue(NoRanking);
        if (!rank && result.GetResult(MaxKept) is { Implicit: false })
            throw ToolException.BadUsage("--keep-steps with --no-ranking: the keep steps keep the most costly layers, which only the ranking finds");
        return new SensitivityOptions(result.GetValue(Model) ?? "", result.GetValue(Assembly), weights,
            result.GetValue(Scales) ?? Path.ChangeExtension(weights, ".scales.json"), evaluation, imageBatch, maxKept, result.GetValue(Json), result.GetValue(Policies) ?? [],
            rank);
    }
}

/// <summary>
/// One <c>fusion-run sensitivity</c>: loads the model, its weights and the scale file calibrated for them (refused for another model or
/// weight file), reads the evaluation batches as calibrate reads its own, and runs <see cref="QuantizationSensitivity.Measure"/> on the
/// CPU. Refusals as calibrate's: a missing or mismatched file or batch (exit 3), NaN or ∞ in a pass (exit 1).
/// </summary>
internal static class SensitivityRunner
{
    public static SensitivityReport Run(SensitivityOptions options, Action<string>? progress = null)
    {
        if (!File.Exists(options.Weights)) throw ToolException.BadInput($"--weights {options.Weights}: file not found");
        if (!File.Exists(options.Scales)) throw ToolException.BadInput($"--scales {options.Scales}: file not found (fusion-run calibrate writes it)");
        var batches = CalibrateRunner.Batches(options.Evaluation, options.ImageBatch, "--eval");
        var (model, input) = CalibrateRunner.LoadOneInputModel(options.Model, options.Assembly, options.Weights, "sensitivity");
        ScaleFile scales;
        try
        {
            scales = ScaleFile.Load(options.Scales, model.Info.Name, ScaleFile.HashOf(options.Weights));
        }
        catch (Exception e) when (e is FusionException or IOException)
        {
            throw ToolException.BadInput($"--scales {options.Scales}: {e.Message}");
        }
        try
        {
            // The keep-lists checked before any pass: one matching nothing is the command line's fault.
            var layers = QuantizationSensitivity.QuantizedLayers(model, scales.Thresholds);
            foreach (var policy in options.Policies ?? []) QuantizationSensitivity.Matching(model.Info.Name, layers, policy);
        }
        catch (FusionException e)
        {
            throw ToolException.BadUsage($"--policy: {e.Message}");
        }
        var tensors = new List<Tensor>();
        try
        {
            foreach (var batch in batches) tensors.AddRange(CalibrateRunner.ReadBatches(model.Info, batch, input, "--eval", options.ImageBatch));
            return QuantizationSensitivity.Measure(model, scales.Thresholds, tensors, options.MaxKept, progress, options.Policies, options.RankLayers);
        }
        catch (FusionException e)
        {
            throw new ToolException(ToolException.Failure, e.Message);
        }
        finally
        {
            foreach (var t in tensors) t.Dispose();
        }
    }
}

/// <summary>The sensitivity report as fusion-run prints it and as its --json writes it.</summary>
internal static class SensitivityReportText
{
    public static void Print(ConsoleReport report, SensitivityReport result)
    {
        report.Field("evaluation", F($"{result.Batches} batch(es), {result.Rows} output rows"));
        if (result.Layers.Count == 0)
            report.Line("each layer int8 alone: not ranked (--no-ranking)");
        else
        {
            report.Line("each layer int8 alone (input per tensor, weight per channel), most costly first:");
            int width = Math.Max(5, result.Layers.Max(l => l.Layer.Length));
            report.Line(F($"  {"layer".PadRight(width)}  {"rel. L2",9}  {"top-1",7}"));
            foreach (var l in result.Layers)
                report.Line(F($"  {l.Layer.PadRight(width)}  {l.Accuracy.RelativeL2,9:0.000e+0}  {100 * l.Accuracy.Agreement,6:F1}%"));
        }
        report.Line("the whole plan int8, keeping the most costly layers at higher precision:");
        foreach (var s in result.Steps)
            report.Line(F($"  keep {s.KeptHalf.Count,2}  rel. L2 {s.Accuracy.RelativeL2:0.000e+0}  top-1 {100 * s.Accuracy.Agreement,5:F1}% ({s.Accuracy.Agreements}/{s.Accuracy.Rows})")
                + (s.KeptHalf.Count > 0 ? "  + " + s.KeptHalf[^1] : ""));
        foreach (var p in result.Policies)
            report.Line(F($"  policy   rel. L2 {p.Accuracy.RelativeL2:0.000e+0}  top-1 {100 * p.Accuracy.Agreement,5:F1}% ({p.Accuracy.Agreements}/{p.Accuracy.Rows})  keeping {p.KeptHalf.Count}: {p.Policy}"));
        if (result.Steps.Count > 1)
            report.Field("keep-list", "KeepHalfInInt8 = new[] { " + string.Join(", ", result.Steps[^1].KeptHalf.Select(l => $"\"{l}\"")) + " }  (the last step's; take the step you need)");
    }

    public static JsonNode Build(SensitivityReport result) => new JsonObject
    {
        ["model"] = result.Model,
        ["batches"] = result.Batches,
        ["rows"] = result.Rows,
        ["layers"] = new JsonArray(result.Layers.Select(l => (JsonNode?)new JsonObject { ["layer"] = l.Layer, ["accuracy"] = Accuracy(l.Accuracy) }).ToArray()),
        ["steps"] = new JsonArray(result.Steps.Select(s => (JsonNode?)new JsonObject
        {
            ["keptHalf"] = new JsonArray(s.KeptHalf.Select(k => (JsonNode?)k).ToArray()),
            ["accuracy"] = Accuracy(s.Accuracy),
        }).ToArray()),
        ["policies"] = new JsonArray(result.Policies.Select(p => (JsonNode?)new JsonObject
        {
            ["policy"] = p.Policy,
            ["keptHalf"] = new JsonArray(p.KeptHalf.Select(k => (JsonNode?)k).ToArray()),
            ["accuracy"] = Accuracy(p.Accuracy),
        }).ToArray()),
    };

    private static JsonObject Accuracy(SimulatedAccuracy a) => new()
    {
        ["relativeL2"] = a.RelativeL2, ["top1Agreement"] = a.Agreement, ["agreements"] = a.Agreements, ["rows"] = a.Rows,
    };

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
