namespace Fusion.Runtime.Tests;

/// <summary>The README's Mlp: a sub-module whose Forward nests three F calls.</summary>
public sealed class ReadmeMlp(int dim, int hidden) : Module
{
    public readonly Linear fc1 = new(dim, hidden);
    public readonly Linear fc2 = new(hidden, dim);

    public Tensor Forward(Tensor x) => F.Linear(F.Gelu(F.Linear(x, fc1)), fc2);
}

/// <summary>The README's classifier, small: its eager Forward makes six intermediates and ends in a view.</summary>
[FusedModel]
public sealed partial class ReadmeClassifier : Module
{
    public readonly LayerNorm norm = new(12);
    public readonly ReadmeMlp mlp = new(12, 24);
    public readonly Linear head = new(12, 5);

    public Tensor Forward([Shape(Dim.Batch, 7, 12)] Tensor x)
    {
        x = F.Add(x, mlp.Forward(F.LayerNorm(x, norm)));
        return F.Reshape(F.Linear(F.Mean(x, 1), head), -1, 5, 1);
    }
}

/// <summary>Seeded weights and inputs for <see cref="ReadmeClassifier"/> runs, and their outputs as bits for exact comparison.</summary>
internal static class ReadmeClassifierData
{
    /// <summary>A classifier with every parameter drawn uniformly from [-0.5, 0.5).</summary>
    public static ReadmeClassifier WithRandomWeights(Random random)
    {
        var model = new ReadmeClassifier();
        foreach (var p in model.NamedParameters()) p.Parameter.InitUniform(random, 0.5f);
        return model;
    }

    /// <summary>The values of a batch-3 input [3, 7, 12], uniform in [-2, 2).</summary>
    public static float[] RandomInput(Random random) =>
        Enumerable.Range(0, 3 * 7 * 12).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();

    /// <summary>The output's bits (NaN included), disposing it.</summary>
    public static int[] Bits(Tensor output)
    {
        using (output) return ((CpuTensor)output).Span<float>().ToArray().Select(BitConverter.SingleToInt32Bits).ToArray();
    }
}
