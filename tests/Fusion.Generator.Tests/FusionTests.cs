using Microsoft.CodeAnalysis;

namespace Fusion.Generator.Tests;

/// <summary>
/// What fuses into which kernel (the template patterns and the scheduler), what does not and why, as info diagnostics and in the
/// report, and that the plan runs no unfused pointwise, layout or reduction operator.
/// </summary>
public sealed class FusionTests
{
    private const string Usings = "using Fusion;\nnamespace Demo;\n";

    [Fact]
    public void SwinBlocks_FuseIntoTemplatesGemmsAndGeneratedKernels()
    {
        var result = GeneratorHarness.Run(SnapshotTests.SampleSources());
        Assert.Empty(result.CompileErrors);
        Assert.DoesNotContain(result.Diagnostics, d => d.Id == "FUS102");
        var half = Method(result.Source, "RunHalf");
        // Per block: ln(+roll)+partition, the qkv GEMM, the attention and the proj GEMM as one step, reverse(+roll)+residual+norm2,
        // and the MLP (fc1+gelu and fc2+residual GEMMs as one step); the output's cast is in the last GEMM's epilogue. The second
        // block's ln+roll+partition joins its qkv attention as the norm prologue; the first's also casts the input, so it stays a kernel.
        Assert.Equal(0, CountOf(half, "be.WindowAttention("));
        Assert.Equal(1, CountOf(half, "be.QkvAttention("));
        Assert.Equal(1, CountOf(half, "be.NormQkvAttention("));
        Assert.Contains("qkv attention gemm_bias_n288_k96 + window_attention_h3_d32_t49 + gemm_bias_n96_k96:", half);
        Assert.Contains("qkv attention layer_norm_roll_window_partition_f16_64nx49x96 + gemm_bias_n288_k96 + window_attention_h3_d32_t49_nw64_masked + gemm_bias_n96_k96:", half);
        Assert.Contains("be.NormQkvAttention(FusionKernels.layer_norm_roll_window_partition_f16_64nx49x96, new global::Fusion.WindowNorm(1e-05f, 56, 56, 7, -3), ", half);
        // Each attention's output projection is its call's last argument (one kernel with it where the backend can): no GEMM step is left.
        Assert.Equal(2, CountOf(half, ", new global::Fusion.AttentionOutput(FusionKernels.gemm_bias_n96_k96, "));
        Assert.Equal(0, CountOf(half, "be.Gemm("));
        Assert.Equal(2, CountOf(half, "be.Mlp("));
        Assert.Equal(3, CountOf(half, "be.Run("));
        // The input's cast is recomputed by both kernels that read it (converting in a load is cheaper than storing a copy).
        Assert.Contains("kernel cast_layer_norm_window_partition_io_f16_64nx49x96 (row)", half);
        Assert.Contains("kernel cast_window_reverse_add_layer_norm_io_f16_nx56x56x96 (row)", half);
        Assert.Contains("kernel window_reverse_roll_add_layer_norm_f16_nx56x56x96 (row)", half);
        Assert.Contains("mlp gemm_bias_gelu_n384_k96 + gemm_bias_add_n96_k384:", half);
        foreach (var op in new[] { "Permute", "Select", "Softmax", "LayerNorm", "Roll", "WindowPartition", "WindowReverse", "Add", "Gelu" })
            Assert.DoesNotContain($"be.{op}(", half);
    }

    [Fact]
    public void SwinT_EveryBlockFuses_AndKeysMatchTimm()
    {
        var folder = Path.Combine(RepoPaths.Root, "samples", "SwinTiny", "Model");
        var result = GeneratorHarness.Run(Directory.GetFiles(folder, "*.cs").Select(File.ReadAllText).ToArray());
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity >= DiagnosticSeverity.Warning);
        Assert.Empty(result.CompileErrors);
        var swinT = result.Run.Results.Single().GeneratedSources.Single(s => s.HintName.Contains("SwinTransformerTiny") && !s.IsIlgpuFile()).SourceText.ToString();
        // 12 attention templates, each one step with its qkv GEMM; 53 GEMMs (4 per block: qkv with the attention, proj, fc1 and fc2
        // as one MLP step; 3 patch-merging reductions, the patch embedding and the head); 30 generated kernels (the patch gather, two
        // LayerNorm kernels per block, 3 merge+LN, the final LN and the pool); the view is the patch-embedding weight's reshape,
        // built with the constants. The int8 plan's qkv GEMMs are int8: their attentions stay steps of their own. 11 of the 12
        // LayerNorm + (roll) + partition kernels join their attention as its norm prologue (the first also normalizes the patch
        // embedding, so it stays a kernel): 19 generated kernels are left as steps of their own. Every attention's output projection
        // joins its step (12 GEMM steps fewer: the 5 left are the patch embedding, the 3 reductions and the head).
        Assert.Contains("// Fusion report. Templates: 12 fused groups, 0 candidates not fused.", swinT);
        Assert.Contains("// Plan Half: 90 steps: 19 generated kernels, 5 GEMMs with generated epilogues, 12 MLPs (two GEMMs each, one kernel where the backend fuses them), 12 window attentions with their QKV projections (one kernel where the backend computes q, k and v in the attention; 11 with the norm and window partition before them, which it then also computes; 12 with the output projection after them, which it then also computes), 41 backend calls, 1 views; 1 fusions refused.", swinT);
        Assert.Equal(1, CountOf(Method(swinT, "RunHalf"), "be.QkvAttention("));
        Assert.Equal(11, CountOf(Method(swinT, "RunHalf"), "be.NormQkvAttention("));
        Assert.Equal(0, CountOf(Method(swinT, "RunInt8"), "be.NormQkvAttention("));
        Assert.Equal(0, CountOf(Method(swinT, "RunInt8"), "be.QkvAttention("));
        Assert.Contains("LayerNorm [N, 7, 7, 768] reduces over another axis than the kernel's other reduction", swinT);
        Assert.Contains("\"layers.1.downsample.reduction.weight\", new int[] { 192, 384 }", swinT);
        Assert.Contains("\"head.fc.weight\", new int[] { 1000, 768 }", swinT);
        Assert.Contains("173 parameter tensors (28288354 values)", swinT); // timm: 28,288,354 parameters
    }

    [Fact]
    public void SharedIntermediate_EndsTheEpilogue_AndTheRestFusesAfterIt()
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
        Assert.Empty(result.CompileErrors);
        // h has two readers, so the GEMM stores it (bias only) and one kernel computes gelu(h) + h and the cast to the output's type.
        Assert.Contains(result.Diagnostics, d => d.Id == "FUS101" && d.GetMessage().Contains("'gemm_bias_n12_k12'"));
        Assert.Contains(result.Diagnostics, d => d.Id == "FUS101" && d.GetMessage().Contains("'gelu_add_cast_f16_io_nx12'"));
        Assert.DoesNotContain("be.Gelu(", result.Source);
    }

    [Fact]
    public void AnMlp_IsOneStep_OnlyWhereItsHiddenValuesHaveNoOtherReader()
    {
        // The first MLP pairs (gelu(fc1) read by fc2 alone); the second's hidden values are also added to the output, so its GEMMs
        // stay two steps; the third's activation is ReLU, which the fused MLP kernel does not take.
        var source = Usings + """
            [FusedModel]
            public partial class Mlps : Module
            {
                public readonly Linear fc1 = new(24, 40), fc2 = new(40, 24), fc3 = new(24, 24), fc4 = new(24, 24), fc5 = new(24, 40), fc6 = new(40, 24);

                public Tensor Forward([Shape(Dim.Batch, 24)] Tensor x)
                {
                    var y = F.Add(x, F.Linear(F.Gelu(F.Linear(x, fc1)), fc2));
                    var h = F.Gelu(F.Linear(y, fc3));
                    var z = F.Add(F.Add(y, F.Linear(h, fc4)), h);
                    return F.Add(z, F.Linear(F.Relu(F.Linear(z, fc5)), fc6));
                }
            }
            """;
        var result = GeneratorHarness.Run(source);
        Assert.Empty(result.CompileErrors);
        foreach (var plan in new[] { "RunFloat", "RunHalf" })
        {
            var body = Method(result.Source, plan);
            Assert.Equal(1, CountOf(body, "be.Mlp("));
            Assert.Equal(4, CountOf(body, "be.Gemm("));
        }
        Assert.Contains("mlp gemm_bias_gelu_n40_k24 + gemm_bias_add_n24_k40:", Method(result.Source, "RunHalf"));
    }

    [Fact]
    public void NormBiasAndResidual_WithoutGemm_FuseIntoOneRowKernel()
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
                    return F.Add(F.Add(h, shift), x);
                }
            }
            """;
        var result = GeneratorHarness.Run(source);
        Assert.Empty(result.CompileErrors);
        var half = Method(result.Source, "RunHalf");
        Assert.Equal(1, CountOf(half, "be.Run("));
        Assert.Contains("kernel cast_layer_norm_add_io_f16_nx7x30 (row)", half);
    }

    [Fact]
    public void AResidualBeforeTheActivation_IsCublasLtsOwnEpilogue()
    {
        // relu(fc(h) + bias + h), a ResNet block's end: cuBLASLt adds its C (the residual) before its activation, so the GEMM keeps
        // cuBLASLt's own epilogue (ResidualFirst); relu before the add would need an add after cuBLASLt's call.
        var source = Usings + """
            [FusedModel]
            public partial class Block : Module
            {
                public readonly Linear stem = new(13, 24);
                public readonly Linear fc = new(24, 24);
                public readonly Linear head = new(24, 5);

                public Tensor Forward([Shape(Dim.Batch, 13)] Tensor x)
                {
                    var h = F.Linear(x, stem);
                    var y = F.Relu(F.Add(F.Linear(h, fc), h));
                    return F.Linear(y, head);
                }
            }
            """;
        var result = GeneratorHarness.Run(source);
        Assert.Empty(result.CompileErrors);
        Assert.Contains("cublas: new global::Fusion.CublasEpilogue((global::Fusion.Activation)1, 0, 1) { ResidualFirst = true },", result.Source);
        Assert.Contains("gemm_bias_add_relu_n24_k24 (gemm, cuBLASLt path: its own epilogue,", result.Source);
    }

    [Fact]
    public void ShiftedWindows_OnANonSquareImage_FuseToo()
    {
        // The template needed a square image (one shift for both axes); the generated kernel rolls each axis by its own index math.
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
        Assert.Empty(result.CompileErrors);
        Assert.DoesNotContain(result.Diagnostics, d => d.Id == "FUS102");
        var half = Method(result.Source, "RunHalf");
        Assert.Equal(1, CountOf(half, "be.Run("));
        Assert.Contains("cast_layer_norm_roll_window_partition_io_f16_6nx49x8", half);
    }

    [Fact]
    public void ABroadcastValue_IsStored_NotRecomputedPerElement_AndTheReportSaysWhy()
    {
        // A gate: the sigmoid of a per-channel mean scaling every token. Recomputing the gate (and its mean) 50 times per channel,
        // once per token, is the blow-up the scheduler refuses; the gate gets a kernel of its own.
        var source = Usings + """
            [FusedModel]
            public partial class Gate : Module
            {
                public Tensor Forward([Shape(Dim.Batch, 50, 12)] Tensor x)
                {
                    var s = F.Sigmoid(F.Mean(x, 1));
                    return F.Mul(x, F.Reshape(s, -1, 1, 12));
                }
            }
            """;
        var result = GeneratorHarness.Run(source);
        Assert.Empty(result.CompileErrors);
        var refused = result.Diagnostics.Where(d => d.Id == "FUS102").Select(d => d.GetMessage()).ToList();
        Assert.Contains(refused, m => m.Contains("broadcast blow-up") && m.Contains("[N, 12]"));
        Assert.Contains("broadcast blow-up", result.Source);
        Assert.Equal(2, CountOf(Method(result.Source, "RunHalf"), "be.Run("));
    }

    [Fact]
    public void TwoReductionsOverDifferentAxes_SplitIntoTwoKernels_WithTheReason()
    {
        var source = Usings + """
            [FusedModel]
            public partial class Pool : Module
            {
                public readonly LayerNorm norm = new(10);

                public Tensor Forward([Shape(Dim.Batch, 9, 10)] Tensor x) => F.Mean(F.LayerNorm(x, norm), 1);
            }
            """;
        var result = GeneratorHarness.Run(source);
        Assert.Empty(result.CompileErrors);
        var refused = result.Single("FUS102");
        Assert.Contains("reduces over another axis than the kernel's other reduction", refused.GetMessage());
        Assert.Equal(source.IndexOf("F.LayerNorm(x, norm)", StringComparison.Ordinal), refused.Location.SourceSpan.Start);
        Assert.Equal(2, CountOf(Method(result.Source, "RunHalf"), "be.Run("));
    }

    [Fact]
    public void RelativeBiasAndMask_AreBuiltOncePerBackend_NotPerCall()
    {
        var result = GeneratorHarness.Run(SnapshotTests.SampleSources());
        var run = Method(result.Source, "RunHalf");
        Assert.DoesNotContain("be.RelativePositionBias(", run);
        Assert.DoesNotContain("be.ShiftedWindowMask(", run);
        Assert.Contains("_fusionConstants.Get(be, global::Fusion.DType.Float16,", run);
        Assert.Contains("be.RelativePositionBias(", result.Source); // in BuildFusionConstants
    }

    /// <summary>Swin's window attention written out for 9 tokens, 2 heads of 16 (the fusion pass makes one WindowAttention of it): x → o.</summary>
    private const string AttentionChain = """
                            var split = F.Permute(F.Reshape(F.Linear(x, qkv), -1, 9, 3, 2, 16), 2, 0, 3, 1, 4);
                            var attn = F.MatMul(F.Mul(F.Select(split, 0, 0), 0.25f), F.Select(split, 0, 1), transposeB: true);
                            attn = F.Softmax(F.Add(attn, F.RelativePositionBias(table, 3)));
                            var o = F.Reshape(F.Permute(F.MatMul(attn, F.Select(split, 0, 2)), 0, 2, 1, 3), -1, 9, 32);
                    """;

    [Fact]
    public void PointwiseChainAfterWindowAttention_IsTheTemplatesEpilogue()
    {
        var source = Usings + $$"""
            [FusedModel]
            public partial class ScaledAttention : Module
            {
                public readonly Linear qkv = new(32, 96);
                public readonly Parameter table = new(25, 2);
                public readonly Parameter gamma = new(32);

                public Tensor Forward([Shape(Dim.Batch, 9, 32)] Tensor x)
                {
                {{AttentionChain}}
                    return F.Add(x, F.Mul(o, gamma));
                }
            }
            """;
        var result = GeneratorHarness.Run(source);
        Assert.Empty(result.CompileErrors);
        var run = Method(result.Source, "RunHalf");
        // One template call whose epilogue reads x and γ and writes the model's output (the cast to io included); no kernel after it.
        Assert.Contains("be.WindowAttention(", run);
        Assert.Contains("FusionKernels.window_attention_h2_d16_t9_mul_add_cast, batch, io, ", run);
        Assert.Equal(0, CountOf(run, "be.Run("));
        Assert.Contains("window_attention_h2_d16_t9_mul_add_cast (window_attention template, generated epilogue, 4 ops)", result.Source);
        Assert.Contains("{ Epilogue = window_attention_h2_d16_t9_mul_add_cast_epilogue, IlgpuKernels = typeof(FusionIlgpuKernels) }", result.Source);
        var fused = result.Diagnostics.Where(d => d.Id == "FUS101").Select(d => d.GetMessage()).ToList();
        Assert.Contains(fused, m => m.Contains("window_attention_h2_d16_t9_mul_add_cast") && m.Contains("F.Mul(o, gamma)"));
    }

    /// <summary>
    /// A window attention and the QKV projection whose result only it reads become one QkvAttention step (float plans); a projection
    /// without a bias (not the form the attention's prologue adds), or an attention that finishes a pointwise chain in its own
    /// epilogue, keeps its own steps.
    /// </summary>
    /// <summary>
    /// A LayerNorm, a roll along H and W or none, and a window partition in front of a paired QKV attention join it as its norm
    /// prologue (the call names the kernel and where the windows come from); a norm whose result something else also reads, or a roll
    /// along another axis, stays a kernel of its own.
    /// </summary>
    [Theory]
    [InlineData("F.Roll(n, -1, 1, 2)", "h", "new global::Fusion.WindowNorm(1e-05f, 6, 6, 3, -1)")]
    [InlineData("n", "h", "new global::Fusion.WindowNorm(1e-05f, 6, 6, 3, 0)")]
    [InlineData("F.Roll(n, 1, 2, 3)", "h", null)]
    [InlineData("n", "n", null)]
    public void ANormAndWindowPartition_JoinTheirQkvAttention_AsItsPrologue(string rolled, string residual, string? geometry)
    {
        var source = Usings + $$"""
            [FusedModel]
            public partial class NormThenAttention : Module
            {
                public readonly LayerNorm norm = new(32);
                public readonly Linear embed = new(32, 32), qkv = new(32, 96), proj = new(32, 32);
                public readonly Parameter table = new(25, 2);

                public Tensor Forward([Shape(Dim.Batch, 6, 6, 32)] Tensor image)
                {
                    var h = F.Linear(image, embed); // not the input: the input's cast would join the norm's kernel
                    var n = F.LayerNorm(h, norm);
                    var x = F.WindowPartition({{rolled}}, 3);
                {{AttentionChain}}
                    return F.Add(F.WindowReverse(F.Linear(o, proj), 3, 6, 6), {{residual}});
                }
            }
            """;
        var result = GeneratorHarness.Run(source);
        Assert.Empty(result.CompileErrors);
        foreach (var plan in new[] { "RunFloat", "RunHalf" })
        {
            var body = Method(result.Source, plan);
            Assert.Equal(geometry is null ? 0 : 1, CountOf(body, "be.NormQkvAttention("));
            Assert.Equal(geometry is null ? 1 : 0, CountOf(body, "be.QkvAttention("));
            if (geometry is not null) Assert.Contains(geometry, body);
        }
    }

    [Theory]
    [InlineData("bias: true", "o", true)]
    [InlineData("bias: false", "o", false)]
    [InlineData("bias: true", "F.Mul(o, gamma)", false)]
    public void AQkvProjection_JoinsItsWindowAttention_WhereThePrologueCanTakeIt(string bias, string attended, bool paired)
    {
        var source = Usings + $$"""
            [FusedModel]
            public partial class QkvThenAttention : Module
            {
                public readonly Linear qkv = new(32, 96, {{bias}}), proj = new(32, 32);
                public readonly Parameter table = new(25, 2);
                public readonly Parameter gamma = new(32);

                public Tensor Forward([Shape(Dim.Batch, 9, 32)] Tensor x)
                {
                {{AttentionChain}}
                    return F.Linear({{attended}}, proj);
                }
            }
            """;
        var result = GeneratorHarness.Run(source);
        Assert.Empty(result.CompileErrors);
        foreach (var plan in new[] { "RunFloat", "RunHalf" })
        {
            var body = Method(result.Source, plan);
            Assert.Equal(paired ? 1 : 0, CountOf(body, "be.QkvAttention("));
            Assert.Equal(paired ? 0 : 1, CountOf(body, "be.WindowAttention("));
        }
        Assert.Equal(paired, result.Source.Contains("1 window attentions with their QKV projections"));
    }

    /// <summary>
    /// The Linear after a QKV attention joins it as its output projection (the call's last argument) where the attention's result is
    /// read by it alone and it maps the heads' C features to C with a bias and nothing else; otherwise it stays a GEMM step.
    /// </summary>
    [Theory]
    [InlineData("new(32, 32)", "F.Linear(o, proj)", "embed", true)]
    [InlineData("new(32, 32, bias: false)", "F.Linear(o, proj)", "embed", false)]
    [InlineData("new(32, 48)", "F.Linear(o, proj)", "wide", false)]
    [InlineData("new(32, 32)", "F.Gelu(F.Linear(o, proj))", "embed", false)]
    [InlineData("new(32, 32)", "F.Add(F.Linear(o, proj), o)", "embed", false)]
    public void AnOutputProjection_JoinsItsQkvAttention_WhereItIsABiasAloneFromCToC(string projection, string after, string last, bool joined)
    {
        var source = Usings + $$"""
            [FusedModel]
            public partial class AttentionThenProjection : Module
            {
                public readonly Linear qkv = new(32, 96), embed = new(32, 32), wide = new(48, 32);
                public readonly Linear proj = {{projection}};
                public readonly Parameter table = new(25, 2);

                public Tensor Forward([Shape(Dim.Batch, 9, 32)] Tensor input)
                {
                    var x = F.Linear(input, embed);
                {{AttentionChain}}
                    return F.Linear({{after}}, {{last}});
                }
            }
            """;
        var result = GeneratorHarness.Run(source);
        Assert.Empty(result.CompileErrors);
        foreach (var plan in new[] { "RunFloat", "RunHalf" })
        {
            var body = Method(result.Source, plan);
            Assert.Equal(1, CountOf(body, "be.QkvAttention("));
            Assert.Equal(joined ? 1 : 0, CountOf(body, "new global::Fusion.AttentionOutput(FusionKernels.gemm_"));
            // embed and the last Linear, and proj where it stays a step of its own (an MLP step holds two).
            Assert.Equal(joined ? 2 : 3, CountOf(body, "be.Gemm(") + 2 * CountOf(body, "be.Mlp("));
        }
        Assert.Equal(joined, result.Source.Contains("1 with the output projection after them, which it then also computes"));
    }

    internal static string Method(string source, string name)
    {
        int start = source.IndexOf($"private global::Fusion.Tensor {name}(", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no method {name}");
        int end = source.IndexOf("\n        }\n", start, StringComparison.Ordinal);
        return source[start..end];
    }

    internal static int CountOf(string text, string part)
    {
        int count = 0;
        for (int i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + 1, StringComparison.Ordinal)) count++;
        return count;
    }
}
