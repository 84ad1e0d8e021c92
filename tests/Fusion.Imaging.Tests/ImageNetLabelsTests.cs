namespace Fusion.Imaging.Tests;

/// <summary>The shipped ImageNet-1k names: all 1000, in the standard order, each once.</summary>
public sealed class ImageNetLabelsTests
{
    [Fact]
    public void ThereAreExactlyOneThousandDistinctNames()
    {
        Assert.Equal(1000, ImageNetLabels.All.Count);
        Assert.Equal(1000, ImageNetLabels.All.Distinct(StringComparer.Ordinal).Count());
        Assert.All(ImageNetLabels.All, name => Assert.Matches(@"^\S(.*\S)?$", name));
    }

    [Theory]
    [InlineData(0, "tench")]
    [InlineData(1, "goldfish")]
    [InlineData(134, "crane bird")]
    [InlineData(281, "tabby")]
    [InlineData(517, "crane")]
    [InlineData(639, "maillot tank suit")]
    [InlineData(999, "toilet tissue")]
    public void IndicesFollowTheStandardOrder(int index, string name) => Assert.Equal(name, ImageNetLabels.Name(index));

    [Theory]
    [InlineData(-1)]
    [InlineData(1000)]
    public void IndexOutsideTheClassesIsRefused(int index) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageNetLabels.Name(index));
}
