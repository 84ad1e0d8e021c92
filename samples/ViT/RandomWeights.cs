using Fusion;

namespace ViT;

/// <summary>
/// Deterministic random weights for running without a weight file: uniform in ±1/√fan-in for matrices and the patch
/// convolution (like PyTorch's default init), near 1 for norm scales, small for biases, and class token and position
/// embedding as large as the patch embeddings they are added to (so both shape the result). Same seed, same weights,
/// on any machine.
/// </summary>
public static class RandomWeights
{
    public static void Initialize(IFusedModel model, int seed)
    {
        var random = new Random(seed);
        foreach (var (key, parameter) in model.NamedParameters())
        {
            var shape = parameter.Shape;
            if (IsEmbedding(key))
            {
                parameter.InitUniform(random, 0.5f);
            }
            else if (shape.Rank == 1 && IsNormScale(key))
            {
                parameter.InitUniform(random, 0.1f);
                var span = parameter.Value.Span<float>();
                for (int i = 0; i < span.Length; i++) span[i] += 1f;
                parameter.Load(span.ToArray(), key);
            }
            else if (shape.Rank == 1)
            {
                parameter.InitUniform(random, 0.05f);
            }
            else
            {
                long fanIn = shape.Product(1, shape.Rank);
                parameter.InitUniform(random, 1f / MathF.Sqrt(fanIn));
            }
        }
    }

    private static bool IsEmbedding(string key) =>
        key.EndsWith("cls_token", StringComparison.Ordinal) || key.EndsWith("pos_embed", StringComparison.Ordinal);

    private static bool IsNormScale(string key) => key.EndsWith(".weight", StringComparison.Ordinal) && key.Contains("norm", StringComparison.Ordinal);
}
