namespace Fusion.Imaging.Tests;

/// <summary>Top-k classes of logits: softmax probabilities, best first, named for 1000-class outputs.</summary>
public sealed class TopClassesTests
{
    [Fact]
    public void ImageNetRowsGetNamedProbabilities()
    {
        var logits = new float[2 * 1000];
        logits[281] = 5; logits[282] = 4; logits[0] = 3; logits[999] = 2; logits[1] = 1; // row 0
        logits[1000 + 999] = 10; // row 1: one class far ahead
        using var tensor = CpuTensor.FromArray(logits, 2, 1000);
        Assert.True(TopClasses.IsImageNet(tensor));
        var top = TopClasses.Of(tensor);

        Assert.Equal([281, 282, 0, 999, 1], top[0].Select(s => s.Index));
        Assert.Equal(["tabby", "tiger cat", "tench", "toilet tissue", "goldfish"], top[0].Select(s => s.Name));
        // exp(5) / (exp(5) + exp(4) + exp(3) + exp(2) + exp(1) + 995 * exp(0)), in double.
        double denominator = Math.Exp(5) + Math.Exp(4) + Math.Exp(3) + Math.Exp(2) + Math.Exp(1) + 995;
        Assert.Equal(Math.Exp(5) / denominator, top[0][0].Probability, 1e-6);
        Assert.Equal(999, top[1][0].Index);
        Assert.Equal(Math.Exp(10) / (Math.Exp(10) + 999), top[1][0].Probability, 1e-6);
        Assert.Equal([0, 1, 2, 3], top[1].Skip(1).Select(s => s.Index)); // ties: lower index first

        var lines = TopClasses.Lines(top[0]).ToList();
        Assert.Equal($"  1. 281 tabby  {100 * Math.Exp(5) / denominator:F2}%", lines[0]);
        Assert.Equal(5, lines.Count);
    }

    [Fact]
    public void OtherWidthsAreUnnamed()
    {
        using var tensor = CpuTensor.FromArray(new float[] { 0, 3, 1 }, 1, 3);
        Assert.False(TopClasses.IsImageNet(tensor));
        var top = Assert.Single(TopClasses.Of(tensor, k: 2));
        Assert.Equal([1, 2], top.Select(s => s.Index));
        Assert.All(top, s => Assert.Null(s.Name));
        Assert.Equal("  1. 1  84.38%", TopClasses.Lines(top).First()); // e³ / (1 + e³ + e) = 0.843795
    }

    [Fact]
    public void FeatureMapsAreNotLogits()
    {
        using var tensor = CpuTensor.Zeros(DType.Float32, 1, 1000, 2);
        Assert.False(TopClasses.IsImageNet(tensor));
        Assert.Throws<ArgumentException>(() => TopClasses.Of(tensor));
    }
}
