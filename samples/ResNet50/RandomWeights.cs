using Fusion;

namespace ResNetSample;

/// <summary>
/// Deterministic random weights for running without a weight file, drawn so that every parameter shapes the result:
/// convolutions and the classifier uniform in ±√(3/fan-in) (variance 1/fan-in, as the python export draws them: fifty
/// layers neither vanish nor blow up, and the logits spread by about the features' size), batch-norm scales near 1,
/// shifts and running means small, running variances in [0.5, 1.5] (so the inference-form normalization is not the
/// identity). Same seed, same weights, on any machine.
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
                parameter.InitUniform(random, MathF.Sqrt(3f / shape.Product(1, shape.Rank)));
            else if (key.EndsWith(".running_var", StringComparison.Ordinal))
                Uniform(parameter, random, center: 1f, halfWidth: 0.5f, key);
            else if (key.EndsWith(".running_mean", StringComparison.Ordinal))
                parameter.InitUniform(random, 0.1f);
            else if (key.EndsWith(".weight", StringComparison.Ordinal)) // rank 1: a batch-norm scale
                Uniform(parameter, random, center: 1f, halfWidth: 0.1f, key);
            else
                parameter.InitUniform(random, 0.05f);
        }
    }

    /// <summary>Values uniform in [center − halfWidth, center + halfWidth).</summary>
    private static void Uniform(Parameter parameter, Random random, float center, float halfWidth, string key)
    {
        parameter.InitUniform(random, halfWidth);
        var values = parameter.Value.Span<float>().ToArray();
        for (int i = 0; i < values.Length; i++) values[i] += center;
        parameter.Load(values, key);
    }
}
