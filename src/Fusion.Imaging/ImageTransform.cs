using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Fusion.Imaging;

/// <summary>
/// timm's eval transform on a decoded image: Resize(scale) with bicubic, CenterCrop(size), ToTensor, Normalize.
/// The resize works on 8-bit pixels as PIL does (ImageSharp's bicubic is the same Keys kernel, a = -0.5, widened
/// when shrinking), so results match timm up to rounding in the resampler.
/// </summary>
internal static class ImageTransform
{
    /// <summary>
    /// The size of <paramref name="width"/>×<paramref name="height"/> resized as torchvision's Resize(int):
    /// the shorter side becomes <paramref name="shortSide"/>, the longer one floor(shortSide * long / short).
    /// </summary>
    public static (int Width, int Height) ResizedSize(int width, int height, int shortSide)
    {
        int shorter = Math.Min(width, height), longer = Math.Max(width, height);
        int scaledLong = (int)((long)shortSide * longer / shorter);
        return width <= height ? (shortSide, scaledLong) : (scaledLong, shortSide);
    }

    /// <summary>Offset of a centre crop of <paramref name="crop"/> from <paramref name="length"/>: round((length - crop) / 2), halves to even as Python's round.</summary>
    public static int CropOffset(int length, int crop) => (int)Math.Round((length - crop) / 2.0, MidpointRounding.ToEven);

    /// <summary>Resize, centre crop and normalize <paramref name="image"/> (changed in place) into <paramref name="destination"/>: 3 planes of size×size.</summary>
    public static void Apply(Image<Rgb24> image, ImageTransformOptions options, Span<float> destination)
    {
        int size = options.Size;
        var (width, height) = ResizedSize(image.Width, image.Height, options.ResizeShortSide);
        var window = new Rectangle(CropOffset(width, size), CropOffset(height, size), size, size);
        image.Mutate(x =>
        {
            if (width != image.Width || height != image.Height) x.Resize(width, height, KnownResamplers.Bicubic);
            x.Crop(window);
        });

        var pixels = new Rgb24[size * size];
        image.CopyPixelDataTo(pixels);
        int plane = size * size;
        for (int c = 0; c < 3; c++)
        {
            float mean = options.Mean[c], std = options.Std[c];
            var output = destination.Slice(c * plane, plane);
            for (int i = 0; i < plane; i++)
            {
                var p = pixels[i];
                byte value = c == 0 ? p.R : c == 1 ? p.G : p.B;
                output[i] = (value / 255f - mean) / std;
            }
        }
    }
}
