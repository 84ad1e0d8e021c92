using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fusion.Imaging;

/// <summary>Image files to normalized model input: a float32 tensor [N, 3, size, size], channels first, as timm's eval transform.</summary>
public static class ImageInput
{
    /// <summary>File extensions of the formats <see cref="ImageFile.Read"/> decodes (the contents decide the decoder; the extension only says "image").</summary>
    public static IReadOnlyList<string> Extensions { get; } =
        [".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm", ".pnm"];

    /// <summary>Whether <paramref name="path"/> has one of the <see cref="Extensions"/> (any case).</summary>
    public static bool HasImageExtension(string path) => Extensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    /// <summary>One image as a float32 tensor [1, 3, size, size]; the caller owns it.</summary>
    public static CpuTensor Load(string path, ImageTransformOptions? options = null) => LoadBatch([path], options);

    /// <summary>Several images as a float32 tensor [N, 3, size, size], in the order given; the caller owns it.</summary>
    public static CpuTensor LoadBatch(IEnumerable<string> paths, ImageTransformOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        options ??= ImageTransformOptions.Default;
        options.Validate();
        var list = paths.ToList();
        if (list.Count == 0) throw new ArgumentException("no image paths given", nameof(paths));

        int size = options.Size, planes = 3 * size * size;
        var tensor = CpuTensor.Zeros(DType.Float32, list.Count, 3, size, size);
        try
        {
            for (int n = 0; n < list.Count; n++)
            {
                using var image = ImageFile.Read(list[n]);
                Transform(list[n], image, options, tensor.Span<float>().Slice(n * planes, planes));
            }
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    private static void Transform(string path, Image<Rgb24> image, ImageTransformOptions options, Span<float> destination)
    {
        try
        {
            ImageTransform.Apply(image, options, destination);
        }
        catch (Exception e) when (e is not ArgumentException)
        {
            // The resampler's own failures (a buffer above the allocation limit) are reported against the file.
            throw new ImageFileException(path, $"cannot resize the image ({e.Message})", e);
        }
    }
}
