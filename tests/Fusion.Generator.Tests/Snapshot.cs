using System.Text;
using DiffPlex.DiffBuilder;
using DiffPlex.DiffBuilder.Model;

namespace Fusion.Generator.Tests;

/// <summary>
/// Snapshot assertions: compares text with <c>tests/Fusion.Generator.Tests/Snapshots/NAME.verified.cs</c>.
/// On a mismatch it writes <c>NAME.received.cs</c> beside it and fails with a line diff; accept a
/// change by renaming received to verified (or run with FUSION_ACCEPT_SNAPSHOTS=1).
/// </summary>
internal static class Snapshot
{
    public static void Verify(string actual, string name)
    {
        var folder = RepoPaths.SnapshotFolder;
        var verified = Path.Combine(folder, name + ".verified.cs");
        var received = Path.Combine(folder, name + ".received.cs");
        actual = Normalize(actual);

        if (Environment.GetEnvironmentVariable("FUSION_ACCEPT_SNAPSHOTS") == "1")
        {
            Directory.CreateDirectory(folder);
            File.WriteAllText(verified, actual);
        }

        if (!File.Exists(verified))
        {
            Directory.CreateDirectory(folder);
            File.WriteAllText(received, actual);
            Assert.Fail($"No snapshot {verified} yet. Wrote {received}: review it and rename it to .verified.cs.");
        }

        var expected = Normalize(File.ReadAllText(verified));
        if (expected == actual)
        {
            if (File.Exists(received)) File.Delete(received);
            return;
        }
        File.WriteAllText(received, actual);
        Assert.Fail($"Snapshot {name} differs from {verified} (new text in {received}):\n{Diff(expected, actual)}");
    }

    private static string Normalize(string text) => text.Replace("\r\n", "\n").TrimStart('\uFEFF');

    /// <summary>Changed lines with two lines of context, '-' expected and '+' actual.</summary>
    private static string Diff(string expected, string actual)
    {
        var diff = new InlineDiffBuilder(new DiffPlex.Differ()).BuildDiffModel(expected, actual, ignoreWhitespace: false);
        var lines = diff.Lines;
        var show = new bool[lines.Count];
        for (int i = 0; i < lines.Count; i++)
        {
            if (lines[i].Type == ChangeType.Unchanged) continue;
            for (int j = Math.Max(0, i - 2); j <= Math.Min(lines.Count - 1, i + 2); j++) show[j] = true;
        }
        var text = new StringBuilder();
        for (int i = 0; i < lines.Count; i++)
        {
            if (!show[i]) continue;
            var prefix = lines[i].Type switch { ChangeType.Inserted => "+ ", ChangeType.Deleted => "- ", _ => "  " };
            text.Append(prefix).Append(lines[i].Text).Append('\n');
        }
        return text.ToString();
    }
}
