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
    public void WindowStack() => VerifyModel("WindowStack", TestModels.WindowStack, ilgpu: true);

    [Fact]
    public void BiasResidual() => VerifyModel("BiasResidualModel", TestModels.BiasResidual, ilgpu: true);

    /// <summary>The sample's real Swin blocks (shifted windows, relative position bias, MLP), read from samples/SwinTiny.</summary>
    /// <summary>The fusion report of a ConvNeXt-style block: LN kernel, GEMM+GELU, GEMM with layer scale and residual in its epilogue.</summary>
    [Fact]
    public void ConvNeXtBlocksReport() => VerifyReport("Report.ConvNeXtBlocks", TestModels.ConvNeXtBlocks);

    /// <summary>The fusion report of a ViT with attention written out: what fuses around the batched products.</summary>
    [Fact]
    public void VitBlocksReport() => VerifyReport("Report.VitBlocks", TestModels.VitBlocks);

    /// <summary>Every way of writing attention the pattern takes fuses into one attention kernel (the report lists seven, none refused).</summary>
    [Fact]
    public void AttentionFormsReport() => VerifyReport("Report.AttentionForms", TestModels.AttentionForms);

    [Fact]
    public void SwinStage1Blocks() => VerifyModel("SwinStage1Blocks", SampleSources());

    /// <summary>
    /// Each template's text stands once in a model's generated file however many kernels end with it (Swin's stage-1 blocks: four
    /// GEMMs and the window attention), and each of those kernels' sources is its own head + that shared field. Every distinct string
    /// literal takes room in the assembly's user-string heap (16 MB at most): two convolutional networks in one project once passed
    /// it (CS8103) with the GEMM template repeated in every GEMM's literal.
    /// </summary>
    [Fact]
    public void EachTemplateTextIsWrittenOnce()
    {
        var result = GeneratorHarness.Run(SampleSources());
        Assert.Empty(result.CompileErrors);
        foreach (var (field, firstLine) in new[] { ("TemplateText_gemm", "// gemm: out = epilogue("), ("TemplateText_window_attention", "// window_attention: softmax(") })
        {
            Assert.Single(System.Text.RegularExpressions.Regex.Matches(result.Source, System.Text.RegularExpressions.Regex.Escape(firstLine)));
            Assert.Single(System.Text.RegularExpressions.Regex.Matches(result.Source, $"private static readonly string {field} = "));
            Assert.NotEmpty(System.Text.RegularExpressions.Regex.Matches(result.Source, $"\" \\+ {field},"));
        }
        // The fields come before the kernels that read them: static initializers run in the order they are written.
        Assert.True(result.Source.IndexOf("string TemplateText_gemm = ", StringComparison.Ordinal) < result.Source.IndexOf("+ TemplateText_gemm,", StringComparison.Ordinal));
    }

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
        Assert.Contains("gemm gemm_bias_cast_n1000_k96: F.Linear(F.Mean(x, 1), head) → cast f16 → io", result.Source);
    }

    /// <summary>Compiles cleanly, then snapshots the report at the top of the generated file (not the kernels' text).</summary>
    private static void VerifyReport(string name, params string[] sources)
    {
        var result = GeneratorHarness.Run(sources);
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity >= DiagnosticSeverity.Warning);
        Assert.Empty(result.CompileErrors);
        Snapshot.Verify(result.Source[..result.Source.IndexOf("#nullable", StringComparison.Ordinal)], name);
    }

    private static void VerifyModel(string name, params string[] sources) => VerifyModel(name, sources, ilgpu: false);

    /// <summary>Compiles cleanly (the ILGPU kernels' file too) and snapshots the model's file, and with <paramref name="ilgpu"/> its ILGPU kernels' file.</summary>
    private static void VerifyModel(string name, string source, bool ilgpu) => VerifyModel(name, [source], ilgpu);

    private static void VerifyModel(string name, string[] sources, bool ilgpu)
    {
        var result = GeneratorHarness.Run(sources);
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity >= DiagnosticSeverity.Warning);
        Assert.Empty(result.CompileErrors);
        // Projects build with warnings as errors: generated code must compile without any (an unreachable else once slipped in).
        Assert.Empty(result.Output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Warning && d.Location.SourceTree?.FilePath.EndsWith(".g.cs", StringComparison.Ordinal) == true));
        Assert.Contains(result.Diagnostics, d => d.Id == "FUS100");
        Snapshot.Verify(result.Source, name);
        if (ilgpu) Snapshot.Verify(result.IlgpuSource ?? throw new InvalidOperationException($"{name} has no ILGPU kernels' file"), name + ".Ilgpu");
    }
}
