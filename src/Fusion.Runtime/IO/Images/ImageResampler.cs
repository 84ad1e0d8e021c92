namespace Fusion.IO;

/// <summary>
/// Separable resampling with an antialiased triangle (bilinear) filter, as PIL's BILINEAR resize:
/// when shrinking, the triangle widens to the scale factor so every source pixel contributes
/// (a box-like average rather than aliasing); when enlarging it is plain bilinear interpolation.
/// Only a window of the resized image is produced, so resize-then-crop costs only the crop.
/// </summary>
internal static class ImageResampler
{
    /// <summary>One output sample: the first source index it reads and the normalized weights from there on.</summary>
    private readonly record struct Tap(int Start, float[] Weights);

    /// <summary>
    /// Pixels [<paramref name="left"/>, +<paramref name="cropWidth"/>) × [<paramref name="top"/>, +<paramref name="cropHeight"/>)
    /// of <paramref name="image"/> resized to <paramref name="width"/>×<paramref name="height"/>, as interleaved RGB rows.
    /// </summary>
    public static float[] ResizeWindow(RgbImage image, int width, int height, int left, int top, int cropWidth, int cropHeight)
    {
        var columns = Taps(image.Width, width, left, cropWidth);
        var rows = Taps(image.Height, height, top, cropHeight);
        int firstRow = rows[0].Start, lastRow = rows[^1].Start + rows[^1].Weights.Length;

        // Horizontal pass over only the source rows the vertical pass reads.
        var source = image.Pixels;
        var horizontal = new float[(lastRow - firstRow) * cropWidth * 3];
        for (int y = firstRow; y < lastRow; y++)
        {
            int inRow = y * image.Width * 3, outRow = (y - firstRow) * cropWidth * 3;
            for (int x = 0; x < cropWidth; x++)
            {
                var (start, weights) = columns[x];
                float r = 0, g = 0, b = 0;
                for (int k = 0; k < weights.Length; k++)
                {
                    int s = inRow + 3 * (start + k);
                    r += weights[k] * source[s];
                    g += weights[k] * source[s + 1];
                    b += weights[k] * source[s + 2];
                }
                horizontal[outRow + 3 * x] = r;
                horizontal[outRow + 3 * x + 1] = g;
                horizontal[outRow + 3 * x + 2] = b;
            }
        }

        var result = new float[cropHeight * cropWidth * 3];
        int rowLength = cropWidth * 3;
        for (int y = 0; y < cropHeight; y++)
        {
            var (start, weights) = rows[y];
            var output = result.AsSpan(y * rowLength, rowLength);
            for (int k = 0; k < weights.Length; k++)
            {
                var input = horizontal.AsSpan((start + k - firstRow) * rowLength, rowLength);
                for (int i = 0; i < rowLength; i++) output[i] += weights[k] * input[i];
            }
        }
        return result;
    }

    /// <summary>Taps for outputs [<paramref name="first"/>, +<paramref name="count"/>) of a resize from <paramref name="inSize"/> to <paramref name="outSize"/>.</summary>
    private static Tap[] Taps(int inSize, int outSize, int first, int count)
    {
        double scale = (double)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0); // the triangle's radius in source pixels
        var taps = new Tap[count];
        for (int o = 0; o < count; o++)
        {
            double centre = (first + o + 0.5) * scale;
            int start = Math.Max(0, (int)Math.Floor(centre - filterScale + 0.5));
            int end = Math.Min(inSize, (int)Math.Floor(centre + filterScale + 0.5));
            var weights = new float[end - start];
            double sum = 0;
            var raw = new double[weights.Length];
            for (int k = 0; k < raw.Length; k++)
            {
                raw[k] = Math.Max(0, 1 - Math.Abs((start + k + 0.5 - centre) / filterScale));
                sum += raw[k];
            }
            // Near the edges part of the triangle falls outside the image; renormalizing keeps constants constant.
            for (int k = 0; k < raw.Length; k++) weights[k] = (float)(raw[k] / sum);
            taps[o] = new Tap(start, weights);
        }
        return taps;
    }
}
