using Fusion.Testing;

namespace Fusion.ConvNets.Tests;

/// <summary>Random input batches for the convolutional models.</summary>
internal static class TestImages
{
    /// <summary>
    /// [batch, 3, size, size] uniform in ±√3: unit variance, like ImageNet-normalized images (TestData.Random's ±1 has a third
    /// of that, which a ReLU network with inference-form batch norm carries through as smaller logits).
    /// </summary>
    public static RefTensor Random(int seed, int batch, int size) => TestData.Uniform(seed, -Math.Sqrt(3), Math.Sqrt(3), batch, 3, size, size);
}
