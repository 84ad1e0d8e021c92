namespace Fusion.Imaging.Tests;

/// <summary>
/// PIL's bicubic resize written out in double precision, as the reference ImageSharp's result is held to:
/// Keys' cubic with a = -0.5, its support widened by the scale factor when shrinking (antialiasing), taps
/// clipped at the image border and their weights renormalized. No rounding between the two passes.
/// </summary>
internal static class BicubicReference
{
    private static double Cubic(double x)
    {
        const double a = -0.5;
        x = Math.Abs(x);
        if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
        if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
        return 0;
    }

    /// <summary>Source indices and normalized weights of output sample <paramref name="index"/> of a resize from <paramref name="inSize"/> to <paramref name="outSize"/>.</summary>
    public static (int First, double[] Weights) Taps(int inSize, int outSize, int index)
    {
        double scale = (double)inSize / outSize, filterScale = Math.Max(scale, 1);
        double support = 2 * filterScale, centre = (index + 0.5) * scale;
        int first = Math.Max(0, (int)(centre - support + 0.5)), last = Math.Min(inSize, (int)(centre + support + 0.5));
        var weights = new double[last - first];
        for (int k = 0; k < weights.Length; k++) weights[k] = Cubic((first + k + 0.5 - centre) / filterScale);
        double sum = weights.Sum();
        for (int k = 0; k < weights.Length; k++) weights[k] /= sum;
        return (first, weights);
    }

    /// <summary>Channel <paramref name="channel"/> of output pixel (<paramref name="x"/>, <paramref name="y"/>) of <paramref name="source"/> resized to <paramref name="width"/>×<paramref name="height"/>, clamped to [0, 255].</summary>
    public static double Sample(Func<int, int, int, byte> source, int sourceWidth, int sourceHeight, int width, int height, int x, int y, int channel)
    {
        var (firstColumn, columnWeights) = Taps(sourceWidth, width, x);
        var (firstRow, rowWeights) = Taps(sourceHeight, height, y);
        double total = 0;
        for (int j = 0; j < rowWeights.Length; j++)
        {
            double row = 0;
            for (int i = 0; i < columnWeights.Length; i++) row += columnWeights[i] * source(firstColumn + i, firstRow + j, channel);
            total += rowWeights[j] * row;
        }
        return Math.Clamp(total, 0, 255);
    }
}
