using Fusion;

namespace SwinTiny;

/// <summary>What the sample prints about a model's output: top-5 classes per input, or a digest of a feature map.</summary>
internal static class Report
{
    public static void PrintOutput(CpuTensor output, bool featureMap)
    {
        var values = output.ToFloatArray();
        if (featureMap || output.Rank != 2)
        {
            Console.WriteLine($"output:  {output.Shape} {output.DType.ShortName()}, mean {values.Average():F6}, mean |x| {values.Average(MathF.Abs):F6}, first {values[0]:F6}");
            return;
        }
        int classes = output.Shape[1];
        for (int i = 0; i < output.Shape[0]; i++)
        {
            var row = values.AsSpan(i * classes, classes).ToArray();
            var top = Enumerable.Range(0, classes).OrderByDescending(c => row[c]).Take(5);
            Console.WriteLine($"input {i}: top-5 " + string.Join(", ", top.Select(c => $"class {c} ({row[c]:F3})")));
        }
    }
}
