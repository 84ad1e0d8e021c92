using Fusion.Generator.Ir;
using Fusion.Generator.Passes;
using Microsoft.CodeAnalysis;

namespace Fusion.Generator.Tests;

/// <summary>
/// The precision pass (step Fusion.Precision) on small graphs: where casts go, which fold into a neighbour, the
/// keep-list, the inputs and output in the run's input/output type, and plans that differ per backend. Each snapshot
/// holds the report and the run methods (the kernels are covered by the other snapshots).
/// </summary>
public sealed class PrecisionTests
{
    private const string Usings = "using Fusion;\nnamespace Demo;\n";

    /// <summary>Linear → Softmax → Linear where, in this injected table, CUDA has no f16 Softmax.</summary>
    private const string SoftmaxBetweenGemms = Usings + """
        [FusedModel]
        public partial class SoftmaxMlp : Module
        {
            public readonly Linear fc1 = new(12, 20);
            public readonly Linear fc2 = new(20, 6);

            public Tensor Forward([Shape(Dim.Batch, 12)] Tensor x) => F.Linear(F.Softmax(F.Linear(x, fc1)), fc2);
        }
        """;

    [Fact]
    public void UnsupportedOp_StaysFloat32_WithCastsAround_AndTheBackendsPlansDiverge()
    {
        GeneratorResult result;
        using (PrecisionSupport.Override((op, backend, type) => !(op == "Softmax" && backend == Fusion.Compiler.BackendKind.Cuda && type == Fusion.Compiler.FloatType.F16)))
            result = GeneratorHarness.Run(SoftmaxBetweenGemms);
        Assert.Empty(result.CompileErrors);
        Snapshot.Verify(PlanText(result.Source), "Precision.CastPlacement");
        var source = result.Source;
        // One Float plan for both, a Half plan per backend, chosen by the backend's device.
        Assert.Contains("private global::Fusion.Tensor RunFloat(", source);
        Assert.Contains("private global::Fusion.Tensor RunHalfCpu(", source);
        Assert.Contains("private global::Fusion.Tensor RunHalfCuda(", source);
        Assert.Contains("if (fusionBackend.Device == global::Fusion.DeviceKind.Cpu) return RunHalfCpu(fusionBackend, fusionBatch, fusionIo, x);", source);
        var cuda = Method(source, "RunHalfCuda");
        // The f16 GEMM's epilogue writes f32 for the f32 softmax, whose kernel writes f16 for the next GEMM: both casts fused.
        Assert.Contains("gemm gemm_bias_cast_n20_k12:", cuda);
        Assert.Contains("kernel softmax_cast_f32_f16_nx20 (row)", cuda);
        Assert.Contains("kernel softmax_f16_nx20 (row)", Method(source, "RunHalfCpu"));
        Assert.Contains("// Precision plan Half (cuda): operators 1 f32, 2 f16; 4 casts inserted, 3 fused into kernels.", source);
        Assert.Contains("//   cast f16 → f32 of F.Linear(x, fc1) for F.Softmax(F.Linear(x, fc1)): fused", source);
    }

    [Fact]
    public void DefaultTable_GivesOnePlanForBothBackends()
    {
        var source = GeneratorHarness.Run(SoftmaxBetweenGemms).Source;
        Assert.Contains("// Precision plan Half (cpu, cuda): operators 3 f16; 2 casts inserted, 1 fused into kernels.", source);
        // The input feeds a GEMM, whose template reads x as it is: that cast is a conversion of its own at the plan's edge.
        Assert.Contains("//   cast io → f16 of input x for F.Linear(x, fc1): runs alone: MixedPrecision.Convert", source);
        Assert.DoesNotContain("RunHalfCuda", source);
    }

    /// <summary>A kept layer (the head, a Linear field matched through head.weight) and a kept operator (F.Softmax).</summary>
    [Fact]
    public void KeepList_KeepsALayerAndAnOperatorInFloat32()
    {
        var source = Usings + """
            [FusedModel(KeepFloat32 = new[] { "head", "F.Softmax" })]
            public partial class KeptHead : Module
            {
                public readonly LayerNorm norm = new(16);
                public readonly Linear mix = new(16, 16);
                public readonly Linear head = new(16, 5);

                public Tensor Forward([Shape(Dim.Batch, 9, 16)] Tensor x)
                {
                    var h = F.Softmax(F.Linear(F.LayerNorm(x, norm), mix));
                    h = F.Gelu(F.Linear(h, mix));
                    return F.Linear(F.Mean(h, 1), head);
                }
            }
            """;
        var result = RunClean(source);
        Snapshot.Verify(PlanText(result.Source), "Precision.KeepList");
        var half = Method(result.Source, "RunHalf");
        Assert.Contains("be.Param(this.head.weight, global::Fusion.DType.Float32)", half);
        Assert.Contains("be.Param(this.head.bias!, global::Fusion.DType.Float32)", half);
        Assert.Contains("be.Param(this.mix.weight, global::Fusion.DType.Float16)", half);
        Assert.Contains("kernel mean_cast_f16_f32_nx16 (strided)", half); // the cast to the f32 head, fused into the reduction's store
        Assert.Contains("kernel softmax_cast_f32_f16_nx9x16 (row)", half); // the kept softmax reads the f32 the GEMM epilogue wrote
        Assert.Contains("//   cast f16 → f32 of F.Mean(h, 1) for F.Linear(F.Mean(h, 1), head): fused", result.Source);
    }

    [Fact]
    public void KeepList_OperatorAbsorbedByAFusedKernel_KeepsTheKernel()
    {
        var sources = SnapshotTests.SampleSources();
        sources[^1] = sources[^1].Replace("[FusedModel]", "[FusedModel(KeepFloat32 = new[] { \"F.Softmax\" })]");
        var result = GeneratorHarness.Run(sources);
        Assert.Empty(result.CompileErrors);
        var half = Method(result.Source, "RunHalf");
        // The kept attention runs in f32 and its epilogue casts its result back to f16 for the projection.
        Assert.Contains("window_attention window_attention_h3_d32_t49_cast_f32: F.Reshape(o, -1, _tokens, _dim) → cast f32 → f16", half);
        Assert.Contains("window_attention window_attention_h3_d32_t49_nw64_masked_cast_f32: F.Reshape(o, -1, _tokens, _dim) → cast f32 → f16", half);
        // The qkv GEMMs' epilogues write the f32 the kept attention reads; a cast kernel takes its result back to f16.
        Assert.Equal(2, CountOf(half, "gemm gemm_bias_cast_n288_k96: F.Linear(x, qkv) → cast f16 → f32"));
        // The relative-position bias and the mask it reads are built in f32 directly (constants take their reader's type).
        Assert.DoesNotContain("cast f16 → f32 of F.RelativePositionBias", result.Source);
        Assert.DoesNotContain("cast f16 → f32 of F.ShiftedWindowMask", result.Source);
        // The two attention kernels and their three f32 constants (two bias tables, one mask) in f32.
        Assert.Contains("Precision plan Half (cpu, cuda): operators 5 f32, 28 f16; 6 casts inserted, 6 fused into kernels.", result.Source);
        Assert.Contains("for F.Linear(o, proj): fused into window_attention_h3_d32_t49_cast_f32: a load or store converts", result.Source);
    }

    /// <summary>Swin-T with its head kept in f32: the image's cast fuses into the patch gather, the cast to the head into the average pool.</summary>
    [Fact]
    public void SwinT_WithTheHeadKept_FusesTheInputCastIntoThePatchGather_AndTheHeadsIntoThePool()
    {
        var folder = Path.Combine(RepoPaths.Root, "samples", "SwinTiny", "Model");
        var sources = Directory.GetFiles(folder, "*.cs").Select(File.ReadAllText)
            .Select(s => s.Replace("[FusedModel]\npublic sealed partial class SwinTransformerTiny", "[FusedModel(KeepFloat32 = new[] { \"head\" })]\npublic sealed partial class SwinTransformerTiny"))
            .ToArray();
        Assert.Contains(sources, s => s.Contains("KeepFloat32", StringComparison.Ordinal));
        var result = GeneratorHarness.Run(sources);
        Assert.Empty(result.CompileErrors);
        var swinT = result.Run.Results.Single().GeneratedSources.Single(s => s.HintName.Contains("SwinTransformerTiny") && !s.IsIlgpuFile()).SourceText.ToString();
        var half = Method(swinT, "RunHalf");
        Assert.Contains("kernel cast_patchify_io_f16_nx56x56x48 (pointwise)", half);
        Assert.Contains("kernel mean_cast_f16_f32_nx768 (strided)", half);
        Assert.Contains("be.Param(this.model.head.weight, global::Fusion.DType.Float32)", half);
        // Only the head is f32: the f16 pool's kernel writes its result as f32 for it.
        Assert.Contains("// Precision plan Half (cpu, cuda): operators 1 f32, 210 f16; 3 casts inserted, 3 fused into kernels.", swinT);
    }

    /// <summary>An image in, a normalized map out: the input's cast fuses into the patch gather, the output's into the LayerNorm kernel.</summary>
    [Fact]
    public void InputAndOutput_StayInTheRunsType_CastsFuseIntoThePatchGatherAndTheNorm()
    {
        var source = Usings + """
            [FusedModel]
            public partial class Embedder : Module
            {
                public readonly PatchConv patch_embed = new(3, 8, 2);
                public readonly LayerNorm norm = new(8);

                public Tensor Forward([Shape(Dim.Batch, 3, 6, 4)] Tensor image) => F.LayerNorm(F.PatchConv(image, patch_embed), norm);
            }
            """;
        var result = GeneratorHarness.Run(source);
        Assert.Empty(result.CompileErrors);
        Snapshot.Verify(PlanText(result.Source), "Precision.InputOutput");
        var half = Method(result.Source, "RunHalf");
        Assert.Contains("kernel cast_patchify_io_f16_nx3x2x12 (pointwise)", half);
        Assert.Contains("kernel layer_norm_cast_f16_io_nx3x2x8 (row)", half);
        Assert.DoesNotContain("Convert(", half);
        Assert.Contains("kernel layer_norm_cast_f32_io_nx3x2x8 (row)", Method(result.Source, "RunFloat"));
    }

    [Fact]
    public void InputsReadByOrdinaryOperators_AreConvertedOnce_AsViewsWhenAlreadyInType()
    {
        var result = GeneratorHarness.Run(TestModels.TinyMlp);
        var half = Method(result.Source, "RunHalf");
        Assert.Equal(1, CountOf(half, "MixedPrecision.Convert(be, input0, global::Fusion.DType.Float16)")); // shared by fc1 and the residual
        Assert.Contains("gemm gemm_bias_add_cast_n13_k37:", half); // the output's cast, in the last GEMM's epilogue
    }

    /// <summary>The report (up to #nullable) and everything from the public Run on: the plans, without the kernel sources.</summary>
    /// <summary>
    /// The Int8 plan: each Linear an int8 GEMM whose input's quantize is fused into the kernel producing it (the layer norm, the
    /// previous GEMM's epilogue after its GELU), whose dequantize and bias open its epilogue; KeepHalfInInt8 leaves a layer fp16
    /// (a "*" segment matching any name), and the report says each of it.
    /// </summary>
    [Fact]
    public void Int8Plan_QuantizesIntoProducers_AndKeepsTheListedLayersFp16()
    {
        var source = Usings + """
            public sealed class Block : Module
            {
                public readonly LayerNorm norm = new(16);
                public readonly Linear fc1 = new(16, 40);
                public readonly Linear fc2 = new(40, 16);

                public Tensor Forward(Tensor x) => F.Add(x, F.Linear(F.Gelu(F.Linear(F.LayerNorm(x, norm), fc1)), fc2));
            }

            [FusedModel(KeepHalfInInt8 = new[] { "blocks.*.fc2" })]
            public partial class Int8Blocks : Module
            {
                public readonly Block[] blocks = [new Block(), new Block()];

                public Tensor Forward([Shape(Dim.Batch, 9, 16)] Tensor x) => blocks[1].Forward(blocks[0].Forward(x));
            }
            """;
        var result = RunClean(source);
        var int8 = Method(result.Source, "RunInt8");
        // fc1 of each block: an int8 GEMM with its GELU in the tanh form; its input quantized in the layer norm's kernel; fc2 (kept)
        // an fp16 GEMM. The Half plan's GELU stays erf's.
        Assert.Equal(2, CountOf(int8, "gemm gemm_mul_add_gelu_tanh_n40_k16_i8:"));
        Assert.DoesNotContain("gelu_tanh", Method(result.Source, "RunHalf"));
        Assert.Contains("gelu", Method(result.Source, "RunHalf"));
        Assert.Contains("gemm gemm_bias_add_n16_k40:", int8);
        Assert.DoesNotContain("n16_k40_i8", int8);
        Assert.Contains("kernel layer_norm_mul_cast_f16_f32_i8_nx9x16 (row)", int8);
        Assert.Contains("Int8Scales.Of(\"blocks.0.fc1.input\")", int8);
        Assert.DoesNotContain("blocks.0.fc2.input", result.Source);
        Assert.Contains("new global::Fusion.Quantization.ActivationScales(\"Int8Blocks\", new string[] { \"blocks.0.fc1.input\", \"blocks.1.fc1.input\" })", result.Source);
        Assert.Contains("//   int8 F.Linear(F.LayerNorm(x, norm), fc1): scale blocks.0.fc1.input, weight blocks.0.fc1.weight per output channel; quantize fused into cast_layer_norm_mul_io_f16_f32_i8_nx9x16", result.Source);
        Assert.Contains("dequantize fused into gemm_mul_add_gelu_tanh_n40_k16_i8; GELU in its tanh form, fused into gemm_mul_add_gelu_tanh_n40_k16_i8", result.Source);
        Assert.DoesNotContain("RunInt8", Method(result.Source, "RunHalf"));
    }

    /// <summary>
    /// The Int8 plan quantizes a one-group convolution's image, not its windows: a 3×3 over 32 channels-last channels reads the
    /// codes in place (an implicit int8 GEMM, its quantize fused into the previous convolution's epilogue), and one over 24 channels
    /// (not whole 16-byte chunks) gathers windows of codes; both layers' inputs are calibrated tensors ("&lt;layer&gt;.input").
    /// </summary>
    [Fact]
    public void Int8Plan_QuantizesConvolutionImages_AndReadsChannelsLastCodesInPlace()
    {
        var source = Usings + """
            [FusedModel]
            public partial class Int8Convs : Module
            {
                public readonly Conv2d conv1 = new(16, 32, 1);
                public readonly Conv2d conv2 = new(32, 24, 3, padding: 1);
                public readonly Conv2d conv3 = new(24, 8, 3, padding: 1);

                public Tensor Forward([Shape(Dim.Batch, 16, 7, 9)] Tensor x) => F.Conv2d(F.Relu(F.Conv2d(F.Relu(F.Conv2d(x, conv1)), conv2)), conv3);
            }
            """;
        var result = RunClean(source);
        var int8 = Method(result.Source, "RunInt8");
        // conv1 (1×1): the image's quantize in the io → f16 cast kernel, a plain int8 GEMM; its epilogue quantizes conv2's input.
        Assert.Contains("kernel cast_permute_mul_io_f32_i8_nx7x9x16 (pointwise)", int8);
        Assert.Contains("gemm gemm_mul_add_relu_mul_cast_n32_k16_i8:", int8);
        // conv2 (3×3 over 32 channels): the implicit int8 GEMM reads those codes in place, and quantizes conv3's input in its epilogue.
        Assert.Contains("gemm conv_gemm_mul_add_relu_mul_cast_n24_k288_i8:", int8);
        Assert.DoesNotContain("nx7x9x288", int8);
        // conv3 (3×3 over 24 channels): the windows of its codes gathered (8-bit, 216 wide), then an int8 GEMM.
        Assert.Contains("kernel permute_im2col_i8_nx7x9x216 (pointwise)", int8);
        Assert.Contains("gemm gemm_mul_add_n8_k216_i8:", int8);
        Assert.Equal(6, CountOf(int8, "fusionPass.Own(be.")); // and the result's permute to NCHW with its cast to io

        Assert.Contains("//   int8 F.Conv2d(F.Relu(F.Conv2d(x, conv1)), conv2): scale conv2.input, weight conv2.weight per output channel; quantize fused into gemm_mul_add_relu_mul_cast_n32_k16_i8; dequantize fused into conv_gemm_mul_add_relu_mul_cast_n24_k288_i8", result.Source);
        Assert.Contains("new global::Fusion.Quantization.ActivationScales(\"Int8Convs\", new string[] { \"conv1.input\", \"conv2.input\", \"conv3.input\" })", result.Source);
        // The Fp8 plan (cuBLASLt's FP8 product: stored operands) gathers E4M3 windows; conv3 (K = 216, not a multiple of 16) stays fp16.
        var fp8 = Method(result.Source, "RunFp8");
        Assert.Contains("kernel permute_im2col_f8_nx7x9x288 (pointwise)", fp8);
        Assert.Contains("gemm conv_gemm_bias_n8_k216:", fp8);
    }

    /// <summary>
    /// Two convolutions reading one value (a stage's first 3×3 and its 1×1 stride-2 shortcut, as ResNet's downsample) share its
    /// quantize: calibration observes the same tensor under both layers' keys, so one scale (the first reader's) and one quantize
    /// serve both, and with the value's other reader gone it fuses into the producer's epilogue; both implicit GEMMs read its codes.
    /// </summary>
    [Fact]
    public void Int8Plan_QuantizesAValueTwoLayersReadOnce()
    {
        var source = Usings + """
            [FusedModel]
            public partial class Int8Shortcut : Module
            {
                public readonly Conv2d conv1 = new(16, 32, 1);
                public readonly Conv2d conv2 = new(32, 48, 3, stride: 2, padding: 1);
                public readonly Conv2d shortcut = new(32, 48, 1, stride: 2);

                public Tensor Forward([Shape(Dim.Batch, 16, 9, 11)] Tensor image)
                {
                    var x = F.Relu(F.Conv2d(image, conv1));
                    return F.Relu(F.Add(F.Conv2d(x, conv2), F.Conv2d(x, shortcut)));
                }
            }
            """;
        var result = RunClean(source);
        var int8 = Method(result.Source, "RunInt8");
        // One quantize of x, in conv1's epilogue (x has no other reader); no kernel of its own reads x back.
        Assert.Contains("gemm gemm_mul_add_relu_mul_cast_n32_k16_i8:", int8);
        Assert.Equal(1, CountOf(int8, "quantize conv2.input to i8"));
        Assert.DoesNotContain("mul_cast_f16_f32_i8", int8);
        // Both convolutions are implicit int8 GEMMs over those codes: the 3×3 stride 2 and the 1×1 stride-2 shortcut.
        Assert.Contains("gemm conv_gemm_mul_add_add_relu_n48_k288_i8:", int8);
        Assert.Contains("gemm conv_gemm_mul_add_n48_k32_i8:", int8);
        Assert.Contains("//   int8 F.Conv2d(x, shortcut): scale conv2.input, weight shortcut.weight per output channel; quantize fused into gemm_mul_add_relu_mul_cast_n32_k16_i8; dequantize fused into conv_gemm_mul_add_n48_k32_i8", result.Source);
        // The shortcut's own key is not read: a scale file calibrated for both layers still loads (extra names are ignored).
        Assert.Contains("new global::Fusion.Quantization.ActivationScales(\"Int8Shortcut\", new string[] { \"conv1.input\", \"conv2.input\" })", result.Source);
        // The Fp8 plan shares its quantize the same way.
        Assert.Equal(1, CountOf(Method(result.Source, "RunFp8"), "quantize conv2.input to f8"));
        Assert.Contains("//   fp8 F.Conv2d(x, shortcut): scale conv2.input, weight shortcut.weight per tensor; quantize fused into gemm_mul_add_relu_mul_cast_n32_k16_f8", result.Source);
    }

    /// <summary>
    /// An int8 GEMM whose result the next block reads twice (its residual add, and its first convolution through that layer's
    /// quantize) stores both from its epilogue: the value in fp16 and its int8 codes, so no quantize kernel reads the value back.
    /// Two outputs of one GEMM step; the codes are the implicit GEMM's image.
    /// </summary>
    [Fact]
    public void Int8Plan_StoresTheNextLayersCodesBesideAValueTheResidualReads()
    {
        var source = Usings + """
            [FusedModel]
            public partial class Int8Identity : Module
            {
                public readonly Conv2d conv1 = new(16, 32, 1);
                public readonly Conv2d conv2 = new(32, 32, 3, padding: 1);

                public Tensor Forward([Shape(Dim.Batch, 16, 9, 11)] Tensor image)
                {
                    var x = F.Relu(F.Conv2d(image, conv1));
                    return F.Relu(F.Add(F.Conv2d(x, conv2), x));
                }
            }
            """;
        var result = RunClean(source);
        var int8 = Method(result.Source, "RunInt8");
        Assert.DoesNotContain("mul_cast_f16_f32_i8", int8); // no quantize kernel of its own
        Assert.Contains("var o17 = fusionPass.Own(be.Gemm(FusionKernels.gemm_mul_add_relu_mul_cast_n32_k16_i8, batch, io, v10, v16, v19, be.Param(this.conv1.bias!, global::Fusion.DType.Float32), v29));", int8);
        Assert.Contains("var v31 = o17[0]; // also quantize conv2.input to i8", int8);
        Assert.Contains("var v22 = o17[1]; // also F.Relu(F.Conv2d(image, conv1))", int8);
        // conv2's implicit GEMM reads the codes, its epilogue the fp16 value as the residual.
        Assert.Contains("be.Gemm(FusionKernels.conv_gemm_mul_add_add_relu_n32_k288_i8, batch, io, v31, v39, v42, be.Param(this.conv2.bias!, global::Fusion.DType.Float32), v22)", int8);
        // The epilogue stores both: the codes first (lowering walks back from them through the value), then the value.
        Assert.Contains("out out0 i8 [N, 9, 11, 32]\nout out1 f16 [N, 9, 11, 32]", result.Source.Replace("\r\n", "\n"));
        Assert.Contains("//   int8 F.Conv2d(x, conv2): scale conv2.input, weight conv2.weight per output channel; quantize fused into gemm_mul_add_relu_mul_cast_n32_k16_i8", result.Source);
        // The Fp8 plan's GEMMs keep cuBLASLt's own epilogue: no second output there.
        Assert.DoesNotContain("gemm_mul_add_relu_mul_cast_n32_k16_f8", result.Source);
    }

    [Fact]
    public void FUS017_Int8KeepListEntryMustMatchAQuantizedLinear()
    {
        var source = Usings + """
            [FusedModel(KeepHalfInInt8 = new[] { "fc", "fc*", "norm" })]
            public partial class Int8Typo : Module
            {
                public readonly LayerNorm norm = new(4);
                public readonly Linear fc = new(4, 4);

                public Tensor Forward([Shape(Dim.Batch, 4)] Tensor x) => F.Linear(F.LayerNorm(x, norm), fc);
            }
            """;
        var result = GeneratorHarness.Run(source);
        var errors = result.Diagnostics.Where(d => d.Id == "FUS017").ToList();
        Assert.Equal(2, errors.Count); // "fc" matches the Linear; "fc*" is no segment wildcard and the norm is no Linear
        Assert.Contains("KeepHalfInInt8 entry 'fc*' of 'Int8Typo' matches nothing", errors[0].GetMessage());
        Assert.Contains("KeepHalfInInt8 entry 'norm' of 'Int8Typo' matches nothing", errors[1].GetMessage());
        Assert.Equal(DiagnosticSeverity.Error, errors[0].Severity);
    }

    /// <summary>The generator's output for a model that must compile without warnings.</summary>
    private static GeneratorResult RunClean(string source)
    {
        var result = GeneratorHarness.Run(source);
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity >= DiagnosticSeverity.Warning);
        Assert.Empty(result.CompileErrors);
        return result;
    }

    private static string PlanText(string source)
    {
        int report = source.IndexOf("#nullable", StringComparison.Ordinal);
        int run = source.IndexOf("        /// <summary>\n        /// Runs the compiled forward pass", StringComparison.Ordinal);
        return source[..report] + "…\n" + source[run..];
    }

    private static string Method(string source, string name)
    {
        int start = source.IndexOf($"private global::Fusion.Tensor {name}(", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no method {name}");
        int end = source.IndexOf("\n        }\n", start, StringComparison.Ordinal);
        return source[start..end];
    }

    private static int CountOf(string text, string part)
    {
        int count = 0;
        for (int i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + 1, StringComparison.Ordinal)) count++;
        return count;
    }
}
