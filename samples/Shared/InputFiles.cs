using Fusion;
using Fusion.Imaging;
using Fusion.IO;

namespace Fusion.Samples;

/// <summary>The --input value: one .npy tensor as it is, or comma-separated images preprocessed as timm's eval transform.</summary>
internal static class InputFiles
{
    /// <summary>Why <paramref name="value"/> names no usable input, or null when it does.</summary>
    public static string? Problem(string value)
    {
        var files = Split(value);
        if (files.Length == 0) return "--input names no file";
        foreach (var file in files)
        {
            bool npy = Path.GetExtension(file).Equals(".npy", StringComparison.OrdinalIgnoreCase);
            if (npy && files.Length > 1) return $"--input: {file}: a .npy file is a whole batch and cannot be listed with others";
            if (!npy && !ImageInput.HasImageExtension(file))
                return $"--input: {file}: unknown extension (expected .npy, {string.Join(", ", ImageInput.Extensions)})";
        }
        return null;
    }

    /// <summary>
    /// The host tensor for <paramref name="value"/>; images are sized to the model input [N, 3, S, S] with the model's timm eval
    /// settings <paramref name="transform"/>. A bad image is an <see cref="ImageFileException"/>, a <see cref="FusionException"/>.
    /// </summary>
    public static CpuTensor Load(string value, InputInfo modelInput, ImageTransformOptions transform)
    {
        var files = Split(value);
        if (files is [var single] && Path.GetExtension(single).Equals(".npy", StringComparison.OrdinalIgnoreCase))
            return NpyFile.Read(single);
        if (modelInput.Dims is not [_, 3, var height, var width] || height != width)
            throw new FusionException($"input '{modelInput.Name}' is [{string.Join(", ", modelInput.Dims)}], not square RGB images; give a .npy file");
        return ImageInput.LoadBatch(files, transform with { Size = height });
    }

    private static string[] Split(string value) => value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
}
