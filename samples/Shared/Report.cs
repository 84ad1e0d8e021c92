using Fusion;
using Fusion.Imaging;

namespace Fusion.Samples;

/// <summary>What the sample prints about a model's output: top-5 classes per input (named for ImageNet's 1000), or a digest of a feature map.</summary>
internal static class Report
{
    public static void PrintOutput(CpuTensor output, bool featureMap)
    {
        if (featureMap || output.Rank != 2)
        {
            var values = output.ToFloatArray();
            Console.WriteLine($"output:  {output.Shape} {output.DType.ShortName()}, mean {values.Average():F6}, mean |x| {values.Average(MathF.Abs):F6}, first {values[0]:F6}");
            return;
        }
        var top = TopClasses.Of(output);
        for (int i = 0; i < top.Count; i++)
        {
            Console.WriteLine($"input {i}: top-5 (class, probability)");
            foreach (var line in TopClasses.Lines(top[i])) Console.WriteLine(line);
        }
    }
}
