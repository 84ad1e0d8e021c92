namespace Fusion.Testing;

/// <summary>
/// Images with structure for calibration and accuracy tests where no photographs can be downloaded: each is a smooth field
/// (a few low-frequency waves per channel), a brightness gradient and solid rectangles and discs, with a little noise,
/// normalized with ImageNet's mean and std, as samples/SwinTiny/python/export_int8_eval.py makes them (another generator, the
/// same kind of image). Neighbouring pixels correlate and edges give the activations outliers, as photographs do.
/// </summary>
public static class SyntheticImages
{
    private static readonly float[] s_mean = [0.485f, 0.456f, 0.406f];
    private static readonly float[] s_std = [0.229f, 0.224f, 0.225f];

    /// <summary>A [count, 3, size, size] float32 batch drawn from <paramref name="seed"/>.</summary>
    public static CpuTensor Batch(int seed, int count, int size = 224)
    {
        var random = new Random(seed);
        var data = new float[count * 3 * size * size];
        var plane = new float[size * size];
        for (int n = 0; n < count; n++)
        {
            var image = data.AsSpan(n * 3 * size * size, 3 * size * size);
            bool horizontal = random.NextDouble() < 0.5;
            double slope = Uniform(random, -0.3, 0.3);
            for (int c = 0; c < 3; c++)
            {
                Array.Clear(plane);
                for (int wave = 0; wave < 4; wave++)
                {
                    double fx = Uniform(random, -6, 6), fy = Uniform(random, -6, 6), phase = Uniform(random, 0, 2 * Math.PI), amplitude = Uniform(random, 0.05, 0.25);
                    for (int y = 0; y < size; y++)
                        for (int x = 0; x < size; x++)
                            plane[y * size + x] += (float)(amplitude * Math.Sin(2 * Math.PI * (fx * x + fy * y) / size + phase));
                }
                for (int y = 0; y < size; y++)
                    for (int x = 0; x < size; x++)
                        image[c * size * size + y * size + x] = plane[y * size + x] + 0.5f + (float)(slope * (horizontal ? x : y) / size);
            }
            int shapes = random.Next(2, 7);
            for (int s = 0; s < shapes; s++)
            {
                var colour = new[] { (float)random.NextDouble(), (float)random.NextDouble(), (float)random.NextDouble() };
                double cx = random.NextDouble(), cy = random.NextDouble(), r = Uniform(random, 0.05, 0.3), aspect = Uniform(random, 0.3, 1.5);
                bool box = random.NextDouble() < 0.5;
                for (int y = 0; y < size; y++)
                    for (int x = 0; x < size; x++)
                    {
                        double u = (double)x / size - cx, v = (double)y / size - cy;
                        if (!(box ? Math.Abs(u) < r && Math.Abs(v) < r * aspect : u * u + v * v < r * r)) continue;
                        for (int c = 0; c < 3; c++) image[c * size * size + y * size + x] = colour[c];
                    }
            }
            for (int c = 0; c < 3; c++)
                for (int i = 0; i < size * size; i++)
                {
                    float value = Math.Clamp(image[c * size * size + i] + (float)(0.02 * Normal(random)), 0f, 1f);
                    image[c * size * size + i] = (value - s_mean[c]) / s_std[c];
                }
        }
        return CpuTensor.FromArray(data, count, 3, size, size);
    }

    private static double Uniform(Random random, double low, double high) => low + (high - low) * random.NextDouble();

    private static double Normal(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
