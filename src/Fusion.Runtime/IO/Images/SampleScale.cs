namespace Fusion.IO;

/// <summary>Integer samples to [0, 1] floats, through a table so every decoder maps a sample the same way.</summary>
internal static class SampleScale
{
    /// <summary><c>table[v] == v / (float)maxValue</c> for every v in [0, maxValue].</summary>
    public static float[] Table(int maxValue)
    {
        var table = new float[maxValue + 1];
        for (int v = 0; v <= maxValue; v++) table[v] = v / (float)maxValue;
        return table;
    }
}
