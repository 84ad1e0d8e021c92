namespace Fusion.Imaging;

/// <summary>
/// The parameters of timm's eval transform: the shorter side is resized to floor(<see cref="Size"/> / <see cref="CropFraction"/>),
/// a <see cref="Size"/>×<see cref="Size"/> centre crop is taken, and each channel becomes (value / 255 - mean) / std.
/// The defaults are timm's (crop fraction 0.875: 256 then 224, ImageNet mean and std).
/// </summary>
public sealed record ImageTransformOptions
{
    /// <summary>timm's defaults: 224×224 crop of the image resized to 256 on its shorter side, ImageNet mean and std.</summary>
    public static ImageTransformOptions Default { get; } = new();

    /// <summary>timm's configuration of swin_tiny_patch4_window7_224: crop fraction 0.9, so 248 then 224.</summary>
    public static ImageTransformOptions Swin { get; } = new() { CropFraction = 0.9 };

    /// <summary>timm's configuration of vit_base_patch16_224: crop fraction 0.9 (248 then 224), mean and std 0.5 for every channel.</summary>
    public static ImageTransformOptions VisionTransformer { get; } = new() { CropFraction = 0.9, Mean = [0.5f, 0.5f, 0.5f], Std = [0.5f, 0.5f, 0.5f] };

    /// <summary>Side of the square crop, the model's input size.</summary>
    public int Size { get; init; } = 224;

    /// <summary>The crop's share of the resized shorter side, in (0, 1] (timm's crop_pct).</summary>
    public double CropFraction { get; init; } = 0.875;

    /// <summary>Channel means (R, G, B) of [0, 1] pixels; ImageNet's by default.</summary>
    public IReadOnlyList<float> Mean { get; init; } = [0.485f, 0.456f, 0.406f];

    /// <summary>Channel standard deviations (R, G, B) of [0, 1] pixels; ImageNet's by default.</summary>
    public IReadOnlyList<float> Std { get; init; } = [0.229f, 0.224f, 0.225f];

    /// <summary>The shorter side after the resize, as timm computes it: floor(size / crop fraction).</summary>
    public int ResizeShortSide => (int)Math.Floor(Size / CropFraction);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first parameter that is out of range.</summary>
    public void Validate()
    {
        if (Size <= 0 || Size > ImageLimits.MaxSide)
            throw new ArgumentOutOfRangeException(nameof(Size), Size, $"must be in [1, {ImageLimits.MaxSide}]");
        if (!(CropFraction > 0 && CropFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(CropFraction), CropFraction, "must be in (0, 1]");
        if (ResizeShortSide > ImageLimits.MaxSide)
            throw new ArgumentOutOfRangeException(nameof(CropFraction), CropFraction, $"resizes the shorter side to {ResizeShortSide}, above {ImageLimits.MaxSide}");
        if (Mean is null || Mean.Count != 3)
            throw new ArgumentException("needs 3 values (R, G, B)", nameof(Mean));
        if (Std is null || Std.Count != 3)
            throw new ArgumentException("needs 3 values (R, G, B)", nameof(Std));
        if (Std.Any(s => !(s > 0) || float.IsInfinity(s)))
            throw new ArgumentOutOfRangeException(nameof(Std), string.Join(", ", Std), "every value must be positive and finite");
    }
}
