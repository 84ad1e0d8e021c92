namespace Fusion.Imaging;

/// <summary>
/// Caps checked on an image's declared header before any pixel is decoded, so a small crafted file that
/// claims huge dimensions (an image bomb) is refused instead of allocating gigabytes.
/// </summary>
public static class ImageLimits
{
    /// <summary>Widths and heights above this are refused.</summary>
    public const int MaxSide = 16384;

    /// <summary>Images with more pixels than this (2^27, about 134 megapixels, 384 MiB as 8-bit RGB) are refused.</summary>
    public const long MaxPixels = 1L << 27;

    /// <summary>The decoder's own ceiling on one allocation, a second guard for formats whose header understates the work (frames, tiles).</summary>
    internal const int AllocationLimitMegabytes = 1024;

    /// <summary>Why <paramref name="width"/>×<paramref name="height"/> is refused, or null when it is within the caps.</summary>
    internal static string? Problem(long width, long height)
    {
        if (width <= 0 || height <= 0)
            return $"declared dimensions {width}x{height} must both be positive";
        if (width > MaxSide || height > MaxSide || width * height > MaxPixels)
            return $"declared dimensions {width}x{height} exceed the limit ({MaxSide} a side, {MaxPixels} pixels); refused before decoding";
        return null;
    }
}
