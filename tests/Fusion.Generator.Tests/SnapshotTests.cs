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

    [Fact]
    public void BiasResidual() => VerifyModel("BiasResidualModel", TestModels.BiasResidual);

    /// <summary>The sample's real Swin blocks (shifted windows, relative position bias, MLP), read from samples/SwinTiny.</summary>
    [Fact]
    public void SwinStage1Blocks() => VerifyModel("SwinStage1Blocks", SampleSources());

    /// <summary>The sample's model files, read from samples/SwinTiny/Model.</summary>
    internal static string[] SampleSources()
    {
        var folder = Path.Combine(RepoPaths.Root, "samples", "SwinTiny", "Model");
        return new[] { "Mlp.cs", "WindowAttention.cs", "SwinBlock.cs", "SwinStage1Blocks.cs" }
            .Select(f => File.ReadAllText(Path.Combine(folder, f)))
            .ToArray();
    }

    /// <summary>The model declared in the README compiles, with the shapes the README claims.</summary>
    [Fact]
    public void ReadmeExample()
    {
        var readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));
        var start = readme.IndexOf("```csharp\n", StringComparison.Ordinal) + "```csharp\n".Length;
        var code = readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)];
        var result = GeneratorHarness.Run(code);
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity >= DiagnosticSeverity.Warning);
        Assert.Empty(result.CompileErrors);
        Assert.Contains("// [N, 1000] f16  fused gemm_bias_act → gemm_bias_n1000_k96 (from F.Linear(F.Mean(x, 1), head))", result.Source);
    }

    private static void VerifyModel(string name, params string[] sources)
    {
        var result = GeneratorHarness.Run(sources);
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity >= DiagnosticSeverity.Warning);
        Assert.Empty(result.CompileErrors);
        Assert.Contains(result.Diagnostics, d => d.Id == "FUS100");
        Snapshot.Verify(result.Source, name);
    }
}
