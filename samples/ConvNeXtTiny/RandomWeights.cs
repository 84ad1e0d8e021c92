using Fusion;

namespace ConvNeXtSample;

/// <summary>
/// Deterministic random weights for running without a weight file: uniform in ±1/√fan-in for convolutions (the
/// depthwise ones have a fan-in of kernel²) and matrices (like PyTorch's default init), near 1 for norm scales and the
/// layer scales (timm initializes those at 1e-6, which would switch every block off), small for biases. Same seed, same
/// weights, on any machine.
/// </summary>
public static class RandomWeights
{
    public static void Initialize(IFusedModel model, int seed)
    {
        var random = new Random(seed);
        foreach (var (key, parameter) in model.NamedParameters())
        {
            var shape = parameter.Shape;
            if (shape.Rank > 1)
            {
                parameter.InitUniform(random, 1f / MathF.Sqrt(shape.Product(1, shape.Rank)));
            }
            else if (IsScale(key))
            {
                parameter.InitUniform(random, 0.1f);
                var values = parameter.Value.Span<float>().ToArray();
                for (int i = 0; i < values.Length; i++) values[i] += 1f;
                parameter.Load(values, key);
            }
            else
            {
                parameter.InitUniform(random, 0.05f);
            }
        }
    }

    /// <summary>A LayerNorm scale (every rank-1 weight in ConvNeXt) or a block's layer scale gamma.</summary>
    private static bool IsScale(string key) => key.EndsWith(".weight", StringComparison.Ordinal) || key.EndsWith(".gamma", StringComparison.Ordinal);
}
