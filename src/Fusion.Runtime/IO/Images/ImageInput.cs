namespace Fusion.IO;

/// <summary>
/// Image files to ImageNet-normalized model input, following timm's eval transform for swin_tiny:
/// resize so the shorter side is floor(size / cropFraction), centre-crop size×size, scale to
/// [0, 1], subtract the ImageNet mean and divide by its standard deviation, channels first.
/// Differences from timm: the resize is an antialiased bilinear filter (see <see cref="ImageResampler"/>)
/// where timm uses PIL's bicubic, and it works in float where PIL rounds to 8 bits after each pass;
/// both move pixels by a few levels at most, which barely shifts the logits.
/// </summary>
public static class ImageInput
{
    /// <summary>ImageNet channel means (R, G, B) of [0, 1] pixels.</summary>
    public static ReadOnlySpan<float> Mean => [0.485f, 0.456f, 0.406f];

    /// <summary>ImageNet channel standard deviations (R, G, B) of [0, 1] pixels.</summary>
    public static ReadOnlySpan<float> Std => [0.229f, 0.224f, 0.225f];

    /// <summary>File extensions <see cref="ImageFile.Read"/> decodes.</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".png", ".ppm", ".pgm", ".pnm"];

    /// <summary>One image as a float32 tensor [1, 3, size, size]; the caller owns it.</summary>
    public static CpuTensor Load(string path, int size = 224, float cropFraction = 0.9f) => LoadBatch([path], size, cropFraction);

    /// <summary>Several images as a float32 tensor [N, 3, size, size], in the order given; the caller owns it.</summary>
    public static CpuTensor LoadBatch(IEnumerable<string> paths, int size = 224, float cropFraction = 0.9f)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var list = paths.ToList();
        if (list.Count == 0) throw new ArgumentException("no image paths given", nameof(paths));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, ImageFile.MaxDimension);
        if (!(cropFraction > 0 && cropFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(cropFraction), cropFraction, "must be in (0, 1]");

        var tensor = CpuTensor.Zeros(DType.Float32, list.Count, 3, size, size);
        try
        {
            int plane = size * size;
            for (int n = 0; n < list.Count; n++)
                Preprocess(ImageFile.Read(list[n]), size, cropFraction, tensor.Span<float>().Slice(n * 3 * plane, 3 * plane));
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <summary>Resize, centre crop and normalize <paramref name="image"/> into <paramref name="destination"/> (3 planes of size×size).</summary>
    internal static void Preprocess(RgbImage image, int size, float cropFraction, Span<float> destination)
    {
        // As timm's transforms_factory and torchvision's Resize(int): the shorter side becomes scaleSize,
        // the longer one keeps the aspect ratio (truncated), and the crop offset rounds half to even.
        int scaleSize = (int)Math.Floor(size / (double)cropFraction);
        int shortSide = Math.Min(image.Width, image.Height), longSide = Math.Max(image.Width, image.Height);
        int scaledLong = (int)((double)scaleSize * longSide / shortSide);
        (int width, int height) = image.Width <= image.Height ? (scaleSize, scaledLong) : (scaledLong, scaleSize);
        int left = (int)Math.Round((width - size) / 2.0, MidpointRounding.ToEven);
        int top = (int)Math.Round((height - size) / 2.0, MidpointRounding.ToEven);

        var crop = ImageResampler.ResizeWindow(image, width, height, left, top, size, size);
        int plane = size * size;
        for (int c = 0; c < 3; c++)
        {
            float mean = Mean[c], std = Std[c];
            var output = destination.Slice(c * plane, plane);
            for (int i = 0; i < plane; i++) output[i] = (crop[3 * i + c] - mean) / std;
        }
    }
}
