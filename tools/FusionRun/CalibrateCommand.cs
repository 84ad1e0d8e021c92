using System.CommandLine;
using System.Globalization;
using System.Reflection;
using Fusion.IO;
using Fusion.Quantization;

namespace Fusion.Run;

/// <summary>What <c>fusion-run calibrate</c> was asked to do, checked.</summary>
internal sealed record CalibrateOptions(string Model, string? Assembly, string Weights, IReadOnlyList<string> Calibration, CalibrationMethod Method,
    double Percentile, string Output, bool Overwrite, int ImageBatch = CalibrateCommandLine.DefaultImageBatch);

/// <summary>One calibration batch: a .npy file, or image files read as one batch.</summary>
internal sealed record CalibrationBatch(IReadOnlyList<string> Files, bool Images);

/// <summary>What a calibration found: the batches it ran and each Linear input's clipping threshold.</summary>
internal sealed record CalibrateResult(CalibrateOptions Options, string ModelName, IReadOnlyList<string> Files, int Batches, long Samples,
    IReadOnlyDictionary<string, double> Thresholds);

/// <summary>The System.CommandLine definition of <c>fusion-run calibrate MODEL --weights W --calib FILE.npy|DIR …</c>.</summary>
internal sealed class CalibrateCommandLine
{
    public const string Name = "calibrate";

    public Argument<string> Model { get; } = new("MODEL") { Description = "swin-t, swin-blocks, vit-b16, resnet-50, convnext-t, swin-t-views, or a model class with --assembly" };
    public Option<string?> Assembly { get; } = new("--assembly") { Description = "load MODEL from this .dll (a class implementing IFusedModel)" };
    public Option<string?> Weights { get; } = new("--weights") { Description = "the model's safetensors weights (required: the scales are tied to this file)" };
    // Samples a batch: the eager FP32 pass holds a batch's intermediates to its end, and fresh memory costs page faults; on Swin-T
    // (two cores, 32 images) 8 a batch calibrated in 13.5 s where 16 took 18.4 s and 32 at once 29 s (docs/perf.md, 2026-12-07).
    public const int DefaultImageBatch = 8;

    public Option<string[]> Calibration { get; } = new("--calib")
    {
        Description = "a .npy batch of the model's input, an image file, or a folder of them (repeatable)", AllowMultipleArgumentsPerToken = false,
    };
    public Option<int> ImageBatch { get; } = new("--calib-batch") { Description = "samples per calibration batch: image files grouped, a .npy cut along its first axis", DefaultValueFactory = _ => DefaultImageBatch };
    public Option<string> Method { get; } = new("--method") { Description = "max, percentile or entropy (KL divergence, as TensorRT)", DefaultValueFactory = _ => "entropy" };
    public Option<double> Percentile { get; } = new("--percentile") { Description = "the percentile of --method percentile", DefaultValueFactory = _ => ClippingThreshold.DefaultPercentile };
    public Option<string?> Output { get; } = new("--out") { Description = "the scale file to write (default: beside the weights, WEIGHTS.scales.json)" };
    public Option<bool> Overwrite { get; } = new("--overwrite") { Description = "replace the scale file when it exists" };

    public Command Command { get; }

    public CalibrateCommandLine()
    {
        Method.AcceptOnlyFromAmong("max", "percentile", "entropy");
        Command = new Command(Name, "run a model's FP32 forward pass over calibration batches and write the int8 clipping threshold of every Linear input");
        Command.Arguments.Add(Model);
        foreach (Option option in new Option[] { Assembly, Weights, Calibration, ImageBatch, Method, Percentile, Output, Overwrite })
            Command.Options.Add(option);
    }

    /// <summary>An unknown option, left over or taken by the parser for MODEL, or null.</summary>
    public string? UnknownOption(ParseResult result) =>
        (result.GetResult(Model)?.Tokens ?? []).Select(t => t.Value).Concat(result.UnmatchedTokens).FirstOrDefault(v => v.StartsWith('-'));

    /// <summary>The checked options of a parse result without errors.</summary>
    public CalibrateOptions Read(ParseResult result)
    {
        if (UnknownOption(result) is string unknown) throw ToolException.BadUsage($"unknown option '{unknown}' (try fusion-run calibrate --help)");
        var weights = result.GetValue(Weights) ?? throw ToolException.BadUsage("calibrate needs --weights: the scales are tied to the weight file they were calibrated with");
        var calibration = result.GetValue(Calibration) ?? [];
        if (calibration.Length == 0) throw ToolException.BadUsage("calibrate needs --calib FILE.npy, image files, or a folder of them");
        int imageBatch = result.GetValue(ImageBatch);
        if (imageBatch < 1) throw ToolException.BadUsage($"--calib-batch {imageBatch}: at least one image per batch");
        double percentile = result.GetValue(Percentile);
        if (!(percentile > 0 && percentile <= 100)) throw ToolException.BadUsage($"--percentile {percentile.ToString(CultureInfo.InvariantCulture)}: a percentile lies in (0, 100]");
        var method = Enum.Parse<CalibrationMethod>(result.GetValue(Method) ?? "entropy", ignoreCase: true);
        var output = result.GetValue(Output) ?? Path.ChangeExtension(weights, ".scales.json");
        return new CalibrateOptions(result.GetValue(Model) ?? "", result.GetValue(Assembly), weights, calibration, method, percentile, output,
            result.GetValue(Overwrite), imageBatch);
    }
}

/// <summary>
/// One <c>fusion-run calibrate</c>: loads the model and its weights, runs its eager FP32 Forward on the CPU over every batch
/// (each .npy checked against the model's input: shape, dtype; image files read with the model's eval transform, as --input
/// reads them, <see cref="CalibrateOptions.ImageBatch"/> at a time) inside a <see cref="LinearInputCalibration"/>, and writes the
/// thresholds as a <see cref="ScaleFile"/> (atomically). Refusals: an existing scale file without --overwrite (exit 2); a missing
/// weight or batch file, a batch of the wrong shape or dtype, an empty calibration set (exit 3); NaN or ∞ reaching a Linear,
/// named by layer (exit 1).
/// </summary>
internal static class CalibrateRunner
{
    public static CalibrateResult Run(CalibrateOptions options)
    {
        if (Directory.Exists(options.Output)) throw ToolException.BadUsage($"--out {options.Output}: a folder; the scale file needs a file path");
        if (File.Exists(options.Output) && !options.Overwrite) throw ToolException.BadUsage($"{options.Output}: file exists (pass --overwrite to replace it)");
        if (!File.Exists(options.Weights)) throw ToolException.BadInput($"--weights {options.Weights}: file not found");
        var batches = Batches(options.Calibration, options.ImageBatch, "--calib");
        var files = batches.SelectMany(b => b.Files).ToList();
        var (model, input) = LoadOneInputModel(options.Model, options.Assembly, options.Weights, "calibrate");
        if (LinearInputCalibration.ForwardOf(model, 1) is null)
            throw ToolException.BadUsage($"{model.Info.Name} has no public Forward(Tensor) to calibrate through");
        long samples = 0;
        using var calibration = new LinearInputCalibration(model);
        try
        {
            foreach (var source in batches)
                foreach (var batch in ReadBatches(model.Info, source, input, "--calib", options.ImageBatch))
                    using (batch)
                    {
                        samples += batch.Shape[0];
                        calibration.Run(batch);
                    }
            var thresholds = calibration.Thresholds(options.Method, options.Percentile);
            var scales = new ScaleFile(model.Info.Name, ScaleFile.HashOf(options.Weights), options.Method, options.Percentile, thresholds);
            var folder = Path.GetDirectoryName(Path.GetFullPath(options.Output));
            if (folder is not null) Directory.CreateDirectory(folder);
            scales.Save(options.Output);
            return new CalibrateResult(options, model.Info.Name, files, calibration.Batches, samples, thresholds);
        }
        catch (FusionException e)
        {
            throw new ToolException(ToolException.Failure, e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ToolException(ToolException.Failure, $"{options.Output}: cannot write ({e.Message})");
        }
    }

    /// <summary>
    /// The model <paramref name="name"/> (or a class of <paramref name="assembly"/>) with <paramref name="weights"/> loaded, and its one
    /// input, for a <paramref name="command"/> that feeds it batches: a model of several inputs is a usage error, a weight file that
    /// does not fit a bad input (exit 3).
    /// </summary>
    internal static (IFusedModel Model, InputInfo Input) LoadOneInputModel(string name, string? assembly, string weights, string command)
    {
        var model = ModelCatalog.Create(name, assembly);
        if (model.Info.Inputs is not [var input])
            throw ToolException.BadUsage($"{command} feeds one input; {model.Info.Name} takes {model.Info.Inputs.Count}");
        try
        {
            model.LoadWeights(weights, WeightLoadOptions.IgnoreUnexpected);
        }
        catch (WeightFileException e)
        {
            throw ToolException.BadInput($"--weights {weights}: {e.Message}");
        }
        return (model, input);
    }

    /// <summary>
    /// The sources of the <paramref name="option"/> entries (--calib, --eval): each .npy file one (cut into batches of at most
    /// <paramref name="imageBatch"/> samples as it is read, <see cref="ReadBatches"/>); image files (given, or a folder's,
    /// in name order) grouped <paramref name="imageBatch"/> at a time in the order found; a folder holding neither, a missing file or
    /// another extension is an error naming the option.
    /// </summary>
    internal static List<CalibrationBatch> Batches(IReadOnlyList<string> entries, int imageBatch, string option)
    {
        var arrays = new List<string>();
        var images = new List<string>();
        void Add(string file, string entry)
        {
            if (file.EndsWith(".npy", StringComparison.OrdinalIgnoreCase)) arrays.Add(file);
            else if (Fusion.Imaging.ImageInput.HasImageExtension(file)) images.Add(file);
            else throw ToolException.BadUsage($"{option} {entry}: unknown extension (expected .npy or an image: {string.Join(", ", Fusion.Imaging.ImageInput.Extensions)})");
        }
        foreach (var entry in entries)
        {
            if (Directory.Exists(entry))
            {
                var found = Directory.GetFiles(entry).Where(f => f.EndsWith(".npy", StringComparison.OrdinalIgnoreCase) || Fusion.Imaging.ImageInput.HasImageExtension(f))
                    .Order(StringComparer.Ordinal).ToList();
                if (found.Count == 0) throw ToolException.BadInput($"{option} {entry}: the folder holds no .npy batch and no image");
                foreach (var file in found) Add(file, entry);
            }
            else if (File.Exists(entry)) Add(entry, entry);
            else throw ToolException.BadInput($"{option} {entry}: file not found");
        }
        return arrays.Select(f => new CalibrationBatch([f], Images: false))
            .Concat(images.Chunk(imageBatch).Select(c => new CalibrationBatch(c, Images: true))).ToList();
    }

    /// <summary>
    /// <paramref name="source"/> as batches of at most <paramref name="rows"/> samples (<see cref="ReadBatch"/>, a .npy cut along its
    /// first axis), one at a time: the eager FP32 pass keeps every intermediate of a batch until its end (Swin-T about 250 MB an
    /// image), so a .npy of 256 images run whole would need tens of GB. Each batch is the caller's to dispose.
    /// </summary>
    internal static IEnumerable<CpuTensor> ReadBatches(ModelInfo model, CalibrationBatch source, InputInfo input, string option, int rows)
    {
        var whole = ReadBatch(model, source, input, option);
        int count = whole.Shape[0];
        if (count <= rows)
        {
            yield return whole;
            yield break;
        }
        using (whole)
        {
            var dims = whole.Shape.ToArray();
            long sample = whole.ElementCount / count;
            for (int first = 0; first < count; first += rows)
            {
                dims[0] = Math.Min(rows, count - first);
                yield return CpuTensor.FromArray(whole.Span<float>().Slice(checked((int)(first * sample)), checked((int)(dims[0] * sample))), dims);
            }
        }
    }

    /// <summary>One batch as float32 (the eager FP32 model's input): images read with the model's eval transform, or a .npy checked against <paramref name="input"/>.</summary>
    private static CpuTensor ReadBatch(ModelInfo model, CalibrationBatch batch, InputInfo input, string option)
    {
        if (batch.Images) return InputLoader.LoadImageBatch(model, batch.Files, option);
        string file = batch.Files[0];
        CpuTensor tensor;
        try
        {
            tensor = NpyFile.Read(file);
        }
        catch (NpyFormatException e)
        {
            throw ToolException.BadInput($"{option} {e.Message}");
        }
        try
        {
            InputLoader.Check(input, tensor, file);
            if (tensor.DType == DType.Float32) return tensor;
            using (tensor) return (CpuTensor)CpuBackend.Instance.Cast(tensor, DType.Float32);
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }
}
