using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;

namespace Fusion.Generator.Tests;

/// <summary>The generated source for several models, against checked-in snapshots; the output must also compile.</summary>
public sealed class SnapshotTests
{
    [Fact]
    public void TinyMlp() => VerifyModel("TinyMlp", TestModels.TinyMlp);

    [Fact]
    public void PatchClassifier() => VerifyModel("PatchClassifier", TestModels.PatchClassifier);

    [Fact]
    public void WindowStack() => VerifyModel("WindowStack", TestModels.WindowStack);

    /// <summary>The sample's real Swin blocks (shifted windows, relative position bias, MLP), read from samples/SwinTiny.</summary>
    [Fact]
    public void SwinStage1Blocks()
    {
        var folder = Path.Combine(RepoRoot(), "samples", "SwinTiny", "Model");
        var sources = new[] { "Mlp.cs", "WindowAttention.cs", "SwinBlock.cs", "SwinStage1Blocks.cs" }
            .Select(f => File.ReadAllText(Path.Combine(folder, f)))
            .ToArray();
        VerifyModel("SwinStage1Blocks", sources);
    }

    private static void VerifyModel(string name, params string[] sources)
    {
        var result = GeneratorHarness.Run(sources);
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity >= DiagnosticSeverity.Warning);
        Assert.Empty(result.CompileErrors);
        Assert.Contains(result.Diagnostics, d => d.Id == "FUS100");
        Snapshot.Verify(result.Source, name);
    }

    internal static string RepoRoot([CallerFilePath] string here = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "..", ".."));
}
