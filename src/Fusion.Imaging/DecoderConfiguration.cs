using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Memory;
using SixLabors.ImageSharp.Metadata;

namespace Fusion.Imaging;

/// <summary>
/// The ImageSharp configuration every load goes through: a bounded allocator, and animated GIFs and multi-page
/// TIFFs decoded to their first frame only (the one a classifier sees, as PIL's <c>open</c> does), so a file
/// with thousands of frames cannot multiply the memory its header promises.
/// </summary>
internal static class DecoderConfiguration
{
    public static Configuration Instance { get; } = Create();

    private static Configuration Create()
    {
        var configuration = Configuration.Default.Clone();
        configuration.MemoryAllocator = MemoryAllocator.Create(new MemoryAllocatorOptions { AllocationLimitMegabytes = ImageLimits.AllocationLimitMegabytes });
        configuration.ImageFormatsManager.SetDecoder(GifFormat.Instance, new GifDecoder { DecodingMode = FrameDecodingMode.First });
        configuration.ImageFormatsManager.SetDecoder(TiffFormat.Instance, new TiffDecoder { DecodingMode = FrameDecodingMode.First });
        return configuration;
    }
}
