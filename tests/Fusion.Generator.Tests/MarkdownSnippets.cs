using System.Text.RegularExpressions;

namespace Fusion.Generator.Tests;

/// <summary>The ```csharp blocks of a Markdown file, grouped by the "## " section they appear in.</summary>
internal static partial class MarkdownSnippets
{
    public sealed record Section(string File, string Heading, IReadOnlyList<string> Blocks);

    public static IEnumerable<Section> CSharpSections(string path)
    {
        var heading = "(top)";
        var blocks = new List<string>();
        var lines = File.ReadAllLines(path);
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].StartsWith("## ", StringComparison.Ordinal))
            {
                if (blocks.Count > 0) yield return new Section(Path.GetFileName(path), heading, blocks);
                heading = lines[i][3..].Trim();
                blocks = [];
            }
            else if (Fence().IsMatch(lines[i]))
            {
                var body = new List<string>();
                for (i++; i < lines.Length && lines[i].TrimEnd() != "```"; i++) body.Add(lines[i]);
                blocks.Add(string.Join("\n", body));
            }
        }
        if (blocks.Count > 0) yield return new Section(Path.GetFileName(path), heading, blocks);
    }

    [GeneratedRegex(@"^```(csharp|cs|c#)\s*$")]
    private static partial Regex Fence();
}
