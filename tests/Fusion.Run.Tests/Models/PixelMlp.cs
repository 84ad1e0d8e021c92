namespace Fusion.Run.Tests.Models;

/// <summary>
/// A compiled model that takes images ([N, 3, 8, 8], so fusion-run reads image files for it) and has two Linears: fc1 reads the
/// flattened pixels, fc2 its GELU. For calibration from image files.
/// </summary>
[FusedModel]
public sealed partial class PixelMlp : Module
{
    public const int Size = 8;

    public readonly Linear fc1 = new(3 * Size * Size, 20);
    public readonly Linear fc2 = new(20, 10);

    public Tensor Forward([Shape(Dim.Batch, 3, Size, Size)] Tensor image) =>
        F.Linear(F.Gelu(F.Linear(F.Reshape(image, -1, 3 * Size * Size), fc1)), fc2);
}
