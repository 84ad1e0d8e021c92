namespace Fusion.Run.Tests.Models;

/// <summary>
/// A hand-written stand-in for an ImageNet classifier: images [N, 3, 16, 16] in, logits [N, 1000] out, each row
/// -|c - 281|, so the printed top-5 is known: 281 tabby first, then 280 and 282 tied (lower index first), 279, 283.
/// </summary>
public sealed class ImageNetStub : IFusedModel
{
    public ModelInfo Info => new(nameof(ImageNetStub), [new InputInfo("image", [Dim.Batch, 3, 16, 16])], [], 0);

    public IReadOnlyList<IKernel> Kernels => [];

    public IEnumerable<NamedParameter> NamedParameters() => [];

    public Tensor Run(IReadOnlyList<Tensor> inputs, IBackend? backend = null)
    {
        int batch = inputs[0].Shape[0];
        var logits = new float[batch * 1000];
        for (int i = 0; i < logits.Length; i++) logits[i] = -Math.Abs(i % 1000 - 281);
        return CpuTensor.FromArray(logits, batch, 1000);
    }
}
