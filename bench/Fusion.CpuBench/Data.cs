namespace Fusion.CpuBench;

internal static class Data
{
    /// <summary><paramref name="count"/> values uniform in [−scale, scale).</summary>
    public static float[] Uniform(Random random, int count, float scale = 1f)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)((random.NextDouble() * 2 - 1) * scale);
        return values;
    }
}
