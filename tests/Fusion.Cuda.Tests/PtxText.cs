namespace Fusion.Cuda.Tests;

/// <summary>Reading clang-19's PTX in the tests that count instructions (GeluPtxTests, Int8PackPtxTests).</summary>
internal static class PtxText
{
    /// <summary>The text of one entry's body.</summary>
    public static string Body(string ptx, string entry)
    {
        int start = ptx.IndexOf($".entry {entry}(", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no entry {entry} in the PTX");
        int open = ptx.IndexOf('{', start), end = ptx.IndexOf("\n}", open, StringComparison.Ordinal);
        return ptx[open..end];
    }

    /// <summary>Instruction lines: not declarations, labels, braces or comments.</summary>
    public static int Instructions(string body) => body.Split('\n').Select(l => l.Trim()).Count(l =>
        l.Length > 0 && l.EndsWith(';') && !l.StartsWith(".reg", StringComparison.Ordinal) && !l.StartsWith("//", StringComparison.Ordinal));
}
