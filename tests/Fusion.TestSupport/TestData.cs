using Fusion;

namespace Fusion.Testing;

/// <summary>Random test inputs. Use a fresh seed per test and let failures report it.</summary>
public static class TestData
{
    /// <summary>
    /// A fresh seed (tests derive the seeds of further inputs as seed + 1, seed + 2, …), or FUSION_TEST_SEED's value, to reproduce
    /// a failure: tests print the seed they used.
    /// </summary>
    public static int NewSeed() =>
        int.TryParse(System.Environment.GetEnvironmentVariable("FUSION_TEST_SEED"), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int seed)
            ? seed : System.Random.Shared.Next();

    /// <summary>
    /// Uniform values in [−1, 1), each exactly representable in float32 so the float32 tensor and
    /// the reference see the same numbers.
    /// </summary>
    public static RefTensor Random(int seed, params int[] shape) => Uniform(seed, -1, 1, shape);

    /// <summary>Uniform float32-representable values in [low, high).</summary>
    public static RefTensor Uniform(int seed, double low, double high, params int[] shape)
    {
        var random = new System.Random(seed);
        var t = new RefTensor(shape) { Seed = seed };
        for (int i = 0; i < t.Count; i++) t.Data[i] = (float)(low + (high - low) * random.NextDouble());
        return t;
    }

    /// <summary>
    /// Every parameter of <paramref name="model"/> uniform in [−scale, scale), drawn from one generator seeded with
    /// <paramref name="seed"/> in the model's parameter order, so two models with the same parameter tree get the same values.
    /// </summary>
    public static void InitParameters(IFusedModel model, int seed, float scale = 0.5f)
    {
        var random = new System.Random(seed);
        foreach (var (_, parameter) in model.NamedParameters()) parameter.InitUniform(random, scale);
    }

    /// <summary>Random values rounded to <paramref name="dtype"/>, so a tensor of that dtype holds them exactly.</summary>
    public static RefTensor Random(int seed, DType dtype, params int[] shape) => Random(seed, shape).RoundedTo(dtype);
}
