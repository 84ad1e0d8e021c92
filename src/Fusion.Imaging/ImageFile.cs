using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Fusion.Imaging;

/// <summary>
/// Reads JPEG, PNG, BMP, GIF, WebP, TIFF and Netpbm (PBM, PGM, PPM) files through ImageSharp as upright 8-bit RGB:
/// the format is recognized from the contents (not the extension), greyscale is replicated to three channels,
/// alpha is dropped (not composited, as PIL's <c>convert("RGB")</c>), and the EXIF orientation is applied.
/// </summary>
public static class ImageFile
{
    /// <summary>The decoded, upright image; the caller disposes it. Every failure is an <see cref="ImageFileException"/>.</summary>
    public static Image<Rgb24> Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] data = ReadBytes(path);
        try
        {
            if (BmpHeaderCheck.Problem(data) is string header)
                throw new ImageFileException(path, header);
            // The header alone first: dimensions are checked before the decoder allocates anything for the pixels.
            var info = Image.Identify(DecoderConfiguration.Instance, data, out var format);
            if (info is null || format is null)
                throw new ImageFileException(path, "not an image ImageSharp can read (JPEG, PNG, BMP, GIF, WebP, TIFF, PBM/PGM/PPM): no decoder recognizes its contents");
            if (ImageLimits.Problem(info.Width, info.Height) is string problem)
                throw new ImageFileException(path, $"{format.Name} {problem}");
            if (TruncationCheck.Problem(format.Name, data) is string truncated)
                throw new ImageFileException(path, truncated);
            if (format.Name == "Webp" && WebpFrameCheck.Problem(data) is string frame)
                throw new ImageFileException(path, frame);
            var image = Image.Load<Rgb24>(DecoderConfiguration.Instance, data);
            try
            {
                image.Mutate(x => x.AutoOrient());
                return image;
            }
            catch
            {
                image.Dispose();
                throw;
            }
        }
        catch (Exception e) when (e is not ImageFileException)
        {
            // Decoders meet hostile bytes here: whatever they throw (their own types, or an index or argument
            // error from a crafted field) is the file's fault and is reported as such.
            throw new ImageFileException(path, $"corrupt or truncated image: {e.Message}", e);
        }
    }

    private static byte[] ReadBytes(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ImageFileException(path, $"cannot read the file ({e.Message})", e);
        }
    }
}
