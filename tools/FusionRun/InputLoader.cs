using System.Globalization;
using Fusion.Imaging;
using Fusion.IO;
using SwinTiny.Model;
using ViT.Model;

namespace Fusion.Run;

/// <summary>A host tensor for one model input and where it came from ("random, seed 1", a file name).</summary>
internal sealed record LoadedInput(string Name, CpuTensor Tensor, string Source);

/// <summary>
/// The model's inputs from the --input values: NAME:FILE.npy (or FILE.npy, taken in declaration order) checked against
/// the model's declared shape and dtype, or image files read, resized, centre-cropped and normalized (timm's eval transform
/// with the model's settings, through Fusion.Imaging) as one batch for a model whose single input is [N, 3, S, S];
/// seeded random values when none is given.
/// </summary>
internal static class InputLoader
{
    public static IReadOnlyList<LoadedInput> Load(ModelInfo model, IReadOnlyList<InputSpec> specs, int batch, int seed)
    {
        if (specs.Count == 0)
            return model.Inputs.Select((input, i) => new LoadedInput(input.Name, Random(input, batch, seed + 1 + i), $"random, seed {seed + 1 + i}")).ToList();

        foreach (var spec in specs)
            if (!File.Exists(spec.Path))
                throw ToolException.BadInput($"--input {(spec.Name is null ? "" : spec.Name + ":")}{spec.Path}: file not found");

        bool anyImage = specs.Any(s => ImageInput.HasImageExtension(s.Path));
        if (anyImage)
        {
            if (specs.Any(s => !ImageInput.HasImageExtension(s.Path) || s.Name is not null))
                throw ToolException.BadUsage("--input: give either image files or NAME:FILE.npy tensors, not both");
            return [LoadImages(model, specs.Select(s => s.Path).ToList())];
        }

        var loaded = new List<LoadedInput>();
        try
        {
            var assigned = new Dictionary<string, InputSpec>(StringComparer.Ordinal);
            int next = 0;
            foreach (var spec in specs)
            {
                if (!spec.Path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
                    throw ToolException.BadUsage($"--input {spec.Path}: unknown extension (expected .npy or an image: {string.Join(", ", ImageInput.Extensions)})");
                string name;
                if (spec.Name is null)
                {
                    while (next < model.Inputs.Count && assigned.ContainsKey(model.Inputs[next].Name)) next++;
                    if (next == model.Inputs.Count)
                        throw ToolException.BadUsage($"--input {spec.Path}: {model.Name} has only {model.Inputs.Count} input(s) ({Names(model)})");
                    name = model.Inputs[next].Name;
                }
                else
                {
                    name = spec.Name;
                    if (!model.Inputs.Any(i => i.Name == name))
                        throw ToolException.BadUsage($"--input {name}:{spec.Path}: {model.Name} has no input '{name}' (its inputs: {Names(model)})");
                }
                if (!assigned.TryAdd(name, spec)) throw ToolException.BadUsage($"--input: input '{name}' is given twice");
            }
            var missing = model.Inputs.Where(i => !assigned.ContainsKey(i.Name)).Select(i => i.Name).ToList();
            if (missing.Count > 0) throw ToolException.BadUsage($"--input: no value for input(s) {string.Join(", ", missing)} of {model.Name}");

            int? fileBatch = null;
            foreach (var input in model.Inputs)
            {
                var path = assigned[input.Name].Path;
                var tensor = ReadNpy(path);
                loaded.Add(new LoadedInput(input.Name, tensor, path));
                int found = Check(input, tensor, path);
                if (fileBatch is int b && found != b)
                    throw ToolException.BadInput($"input '{input.Name}' from {path} has batch {found} but an earlier input has batch {b}");
                fileBatch = found;
            }
            if (batch != 1 && fileBatch is int given && given != batch)
                throw ToolException.BadUsage($"--batch {batch} but the input files hold batch {given}");
            return loaded;
        }
        catch
        {
            foreach (var input in loaded) input.Tensor.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Checks <paramref name="tensor"/> against the declared input and returns its batch; the message names the input,
    /// the file, the expected shape and dtype and the actual ones.
    /// </summary>
    public static int Check(InputInfo input, CpuTensor tensor, string source)
    {
        string expected = $"{input.Describe()} f32 or f16";
        string actual = $"{tensor.Shape} {tensor.DType.ShortName()}";
        bool dtypeOk = tensor.DType is DType.Float32 or DType.Float16;
        bool rankOk = tensor.Rank == input.Dims.Length;
        bool dimsOk = rankOk && input.Dims.Select((d, i) => d == Dim.Batch ? tensor.Shape[i] > 0 : tensor.Shape[i] == d).All(ok => ok);
        if (!dtypeOk || !dimsOk)
            throw ToolException.BadInput($"input '{input.Name}' from {source}: expected {expected} (N = batch), got {actual}");
        int batchAxis = Array.IndexOf(input.Dims, Dim.Batch);
        return batchAxis < 0 ? 1 : tensor.Shape[batchAxis];
    }

    private static LoadedInput LoadImages(ModelInfo model, IReadOnlyList<string> paths) =>
        new(model.Inputs[0].Name, LoadImageBatch(model, paths, "--input"), string.Join(", ", paths));

    /// <summary>
    /// Image files as one float32 batch [N, 3, S, S] for a model whose one input is that shape, read with the model's eval
    /// transform; errors name <paramref name="option"/> and the file.
    /// </summary>
    public static CpuTensor LoadImageBatch(ModelInfo model, IReadOnlyList<string> paths, string option)
    {
        if (model.Inputs is not [var input] || input.Dims is not [Dim.Batch, 3, var height, var width] || height != width)
            throw ToolException.BadUsage($"{option}: images need a model with one input [N, 3, S, S]; {model.Name} takes {Names(model, withShape: true)}; give .npy files");
        try
        {
            return ImageInput.LoadBatch(paths, ImageOptions(model, height));
        }
        catch (ImageFileException e)
        {
            throw ToolException.BadInput($"{option} {e.Message}");
        }
    }

    /// <summary>
    /// timm's eval transform is a per-model setting: crop fraction 0.9 for Swin-T; 0.9 with mean and std 0.5 for ViT-B/16;
    /// timm's defaults (0.875, ImageNet mean and std) for any other model.
    /// </summary>
    private static ImageTransformOptions ImageOptions(ModelInfo model, int size) => model.Name switch
    {
        nameof(SwinTransformerTiny) => ImageTransformOptions.Swin,
        nameof(VisionTransformerBase16) => ImageTransformOptions.VisionTransformer,
        _ => ImageTransformOptions.Default,
    } with { Size = size };

    private static CpuTensor ReadNpy(string path)
    {
        try
        {
            return NpyFile.Read(path);
        }
        catch (NpyFormatException e)
        {
            throw ToolException.BadInput($"--input {path}: {e.Message}");
        }
    }

    private static CpuTensor Random(InputInfo input, int batch, int seed)
    {
        var shape = input.Dims.Select(d => d == Dim.Batch ? batch : d).ToArray();
        var random = new Random(seed);
        var data = new float[shape.Aggregate(1, (a, d) => a * d)];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(random.NextDouble() * 2 - 1);
        return CpuTensor.FromArray(data, shape);
    }

    private static string Names(ModelInfo model, bool withShape = false) =>
        string.Join(", ", model.Inputs.Select(i => withShape ? $"{i.Name} {i.Describe()}" : i.Name));

    public static string Describe(CpuTensor tensor) => string.Create(CultureInfo.InvariantCulture, $"{tensor.Shape} {tensor.DType.ShortName()}");
}
