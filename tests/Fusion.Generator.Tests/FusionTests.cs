using Microsoft.CodeAnalysis;

namespace Fusion.Generator.Tests;

/// <summary>The fusion pass: which groups become kernels, which candidates are rejected and why, as info diagnostics and in the report.</summary>
public sealed class FusionTests
{
    private const string Usings = "using Fusion;\nnamespace Demo;\n";

    [Fact]
    public void SwinBlocks_EveryPatternFuses()
    {
        var result = GeneratorHarness.Run(SnapshotTests.SampleSources());
        var fused = result.Diagnostics.Where(d => d.Id == "FUS101").Select(d => d.GetMessage()).ToList();
        Assert.DoesNotContain(result.Diagnostics, d => d.Id == "FUS102");
        // Per block: ln+partition, qkv gemm, attention, proj gemm, reverse+residual, fc1+gelu, fc2+residual.
        Assert.Equal(14, fused.Count);
        string[] kernels =
        [
            "ln_shift_partition_c96_h56x56_w7_s0", "ln_shift_partition_c96_h56x56_w7_s3",
            "window_attention_h3_d32_t49", "window_attention_h3_d32_t49_nw64_masked",
            "window_reverse_residual_c96_h56x56_w7_s0", "window_reverse_residual_c96_h56x56_w7_s3",
            "gemm_bias_n288_k96", "gemm_bias_n96_k96", "gemm_bias_gelu_n384_k96", "gemm_bias_residual_n96_k384",
        ];
        foreach (var k in kernels) Assert.Contains(fused, m => m.Contains($"'{k}'"));
        Assert.Contains("// Fusion report: 14 fused groups, 10 distinct kernels, 0 candidates not fused.", result.Source);
        // The attention kernel reads the QKV projection directly: no permute or select survives.
        Assert.DoesNotContain("be.Permute(", result.Source);
        Assert.DoesNotContain("be.Select(", result.Source);
        Assert.DoesNotContain("be.Softmax(", result.Source);
    }

    [Fact]
    public void SwinT_EveryBlockFuses_AndKeysMatchTimm()
    {
        var folder = Path.Combine(RepoPaths.Root, "samples", "SwinTiny", "Model");
        var result = GeneratorHarness.Run(Directory.GetFiles(folder, "*.cs").Select(File.ReadAllText).ToArray());
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity >= DiagnosticSeverity.Warning);
        Assert.Empty(result.CompileErrors);
        var swinT = result.Run.Results.Single().GeneratedSources.Single(s => s.HintName.Contains("SwinTransformerTiny")).SourceText.ToString();
        // 12 blocks × 7 groups, 3 patch mergings (norm stays, reduction is a GEMM), the patch-embedding GEMM and the head GEMM.
        Assert.Contains("// Fusion report: 89 fused groups, 42 distinct kernels, 0 candidates not fused.", swinT);
        Assert.Contains("\"layers.1.downsample.reduction.weight\", new int[] { 192, 384 }", swinT);
        Assert.Contains("\"head.fc.weight\", new int[] { 1000, 768 }", swinT);
        Assert.Contains("173 parameter tensors (28288354 values)", swinT); // timm: 28,288,354 parameters
    }

    [Fact]
    public void SharedIntermediate_BlocksTheActivation_AndSaysWhy()
    {
        var source = Usings + """
            [FusedModel]
            public partial class Shared : Module
            {
                public readonly Linear fc = new(12, 12);

                public Tensor Forward([Shape(Dim.Batch, 12)] Tensor x)
                {
                    var h = F.Linear(x, fc);
                    var g = F.Gelu(h);
                    return F.Add(g, h);
                }
            }
            """;
        var result = GeneratorHarness.Run(source);
        var rejected = result.Single("FUS102");
        Assert.Equal(DiagnosticSeverity.Info, rejected.Severity);
        Assert.Contains("activation not fused: 'F.Linear(x, fc)' is also read by 'F.Gelu(h)', 'F.Add(g, h)'", rejected.GetMessage());
        Assert.Equal(source.IndexOf("F.Linear(x, fc)", StringComparison.Ordinal), rejected.Location.SourceSpan.Start);
        Assert.Contains(result.Diagnostics, d => d.Id == "FUS101" && d.GetMessage().Contains("'gemm_bias_n12_k12'"));
        Assert.Contains("be.Gelu(", result.Source);
        Assert.Empty(result.CompileErrors);
    }

    [Fact]
    public void BiasAndResidual_WithoutGemm_FuseIntoOnePass()
    {
        var source = Usings + """
            [FusedModel]
            public partial class BiasRes : Module
            {
                public readonly LayerNorm norm = new(30);
                public readonly Parameter shift = new(30);

                public Tensor Forward([Shape(Dim.Batch, 7, 30)] Tensor x)
                {
                    var h = F.LayerNorm(x, norm);
                    return F.Add(F.Add(h, F.Value(shift)), x);
                }
            }
            """;
        var result = GeneratorHarness.Run(source);
        Assert.Contains(result.Diagnostics, d => d.Id == "FUS101" && d.GetMessage().Contains("'bias_residual_c30'"));
        Assert.Contains("be.BiasResidual(", result.Source);
        Assert.Empty(result.CompileErrors);
    }

    [Fact]
    public void ShiftedWindows_OnANonSquareImage_StayUnfused()
    {
        var source = Usings + """
            [FusedModel]
            public partial class Wide : Module
            {
                public readonly LayerNorm norm = new(8);

                public Tensor Forward([Shape(Dim.Batch, 14, 21, 8)] Tensor x)
                {
                    var h = F.LayerNorm(x, norm);
                    h = F.Roll(h, -3, 1, 2);
                    return F.WindowPartition(h, 7);
                }
            }
            """;
        var result = GeneratorHarness.Run(source);
        var rejected = result.Single("FUS102");
        Assert.Contains("non-square 14×21 image", rejected.GetMessage());
        Assert.Contains("be.LayerNorm(", result.Source);
        Assert.Contains("be.Roll(", result.Source);
    }

    [Fact]
    public void RelativeBiasAndMask_AreBuiltOncePerBackend_NotPerCall()
    {
        var result = GeneratorHarness.Run(SnapshotTests.SampleSources());
        var run = result.Source[result.Source.IndexOf("private global::Fusion.Tensor RunHalf(", StringComparison.Ordinal)..];
        Assert.DoesNotContain("be.RelativePositionBias(", run);
        Assert.DoesNotContain("be.ShiftedWindowMask(", run);
        Assert.Contains("_fusionConstants.Get(be, global::Fusion.DType.Float16,", run);
        Assert.Contains("be.RelativePositionBias(", result.Source); // in BuildFusionConstants
    }
}
