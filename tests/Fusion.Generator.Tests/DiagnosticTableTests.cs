using Fusion.Generator.Diagnostics;

namespace Fusion.Generator.Tests;

/// <summary>docs/diagnostics.md lists exactly the diagnostics of the generator's table, with the same titles.</summary>
public sealed class DiagnosticTableTests
{
    [Fact]
    public void DocsListEveryDiagnostic()
    {
        var doc = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "diagnostics.md"));
        var documented = System.Text.RegularExpressions.Regex.Matches(doc, @"^\| (FUS\d{3}) \| ([^|]+) \|", System.Text.RegularExpressions.RegexOptions.Multiline)
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value.Trim());
        var table = DiagnosticDescriptors.All.ToDictionary(d => d.Id, d => d.Title.ToString());
        Assert.Equal(table.Keys.Order(), documented.Keys.Order());
        foreach (var (id, title) in table) Assert.Equal(title, documented[id]);
    }

    [Fact]
    public void IdsAreUnique() =>
        Assert.Equal(DiagnosticDescriptors.All.Length, DiagnosticDescriptors.All.Select(d => d.Id).Distinct().Count());
}
