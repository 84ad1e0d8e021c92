using Fusion;
using Fusion.Imaging;

namespace ViT;

/// <summary>What the sample prints about the logits: the top-5 classes of each input, named for ImageNet's 1000.</summary>
internal static class Report
{
    public static void PrintOutput(CpuTensor logits)
    {
        var top = TopClasses.Of(logits);
        for (int i = 0; i < top.Count; i++)
        {
            Console.WriteLine($"input {i}: top-5 (class, probability)");
            foreach (var line in TopClasses.Lines(top[i])) Console.WriteLine(line);
        }
    }
}
