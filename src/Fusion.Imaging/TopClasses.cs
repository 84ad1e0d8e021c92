namespace Fusion.Imaging;

/// <summary>The k most probable classes of each row of a classifier's logits [N, classes], named when there are 1000 (ImageNet-1k).</summary>
public static class TopClasses
{
    /// <summary>Whether <paramref name="output"/> is [N, 1000]: logits of an ImageNet-1k classifier.</summary>
    public static bool IsImageNet(CpuTensor output)
    {
        ArgumentNullException.ThrowIfNull(output);
        return output.Rank == 2 && output.Shape[1] == ImageNetLabels.Count;
    }

    /// <summary>For each row of <paramref name="logits"/> [N, classes], its <paramref name="k"/> best classes, most probable first (ties: lower index first).</summary>
    public static IReadOnlyList<IReadOnlyList<ClassScore>> Of(CpuTensor logits, int k = 5)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        if (logits.Rank != 2)
            throw new ArgumentException($"logits must be [N, classes], got {logits.Shape}", nameof(logits));
        int rows = logits.Shape[0], classes = logits.Shape[1];
        bool named = classes == ImageNetLabels.Count;
        var values = logits.ToFloatArray();
        var result = new List<IReadOnlyList<ClassScore>>(rows);
        for (int n = 0; n < rows; n++)
        {
            var row = values.AsSpan(n * classes, classes);
            var probabilities = Softmax(row);
            result.Add(Enumerable.Range(0, classes)
                .OrderByDescending(c => probabilities[c]).ThenBy(c => c)
                .Take(k)
                .Select(c => new ClassScore(c, (float)probabilities[c], named ? ImageNetLabels.Name(c) : null))
                .ToList());
        }
        return result;
    }

    /// <summary>"  1. 281 tabby  42.17%", one line a class, ranks from 1.</summary>
    public static IEnumerable<string> Lines(IReadOnlyList<ClassScore> top) => top.Select((score, i) => $"  {i + 1}. {score}");

    /// <summary>Softmax in double, shifted by the maximum so large logits do not overflow.</summary>
    private static double[] Softmax(ReadOnlySpan<float> row)
    {
        double max = double.NegativeInfinity;
        foreach (float v in row) max = Math.Max(max, v);
        var result = new double[row.Length];
        double sum = 0;
        for (int i = 0; i < row.Length; i++) sum += result[i] = Math.Exp(row[i] - max);
        for (int i = 0; i < row.Length; i++) result[i] /= sum;
        return result;
    }
}
