using Fusion.Compiler;
using Fusion.Kernels;
using Fusion.Testing;
using SwinTiny.Model;

namespace Fusion.SwinTiny.Tests;

/// <summary>
/// The kernels the generator emitted for the Swin models: well-formed, identical to what the runtime prints from the same IR and
/// template (one definition shared by both), and compilable with clang for sm_80 and sm_90.
/// </summary>
public sealed class GeneratedKernelTests
{
    /// <summary>Every distinct kernel the generator emitted for the sample's and the tests' models.</summary>
    private static List<IKernel> AllKernels() =>
        SwinTransformerTiny.Kernels.Concat(SwinStage1Blocks.Kernels).Concat(OddSwinBlocks.Kernels).Concat(SwinMini.Kernels)
            .GroupBy(k => k.Name).Select(g => g.First()).ToList();

    public static TheoryData<string, string, int> KernelsAndArchitectures()
    {
        var data = new TheoryData<string, string, int>();
        foreach (var kernel in AllKernels())
            foreach (int io in UsesIo(kernel) ? new[] { 0, 1 } : [0])
            {
                data.Add(kernel.Name, "sm_80", io);
                data.Add(kernel.Name, "sm_90", io);
            }
        return data;
    }

    [Fact]
    public void SourcesMatchWhatTheRuntimePrints()
    {
        // The generator (netstandard2.0) and the runtime share the printers and template specialization as source; a kernel
        // reprinted here from its IR (or template) must be the generator's text byte for byte.
        foreach (var kernel in AllKernels())
        {
            string expected = kernel switch
            {
                // A template with an epilogue (the Int8 plan's window attention ends in the proj input's quantize) has it printed in.
                FusedKernel { Epilogue: { } e } t => KernelText.Specialize(t.Pattern, t.Name, t.Constants, KernelTemplates.Get(t.Pattern), "generated.cuh", CudaEpiloguePrinter.Print(e.Ir)),
                FusedKernel t => KernelTemplates.Specialize(t.Pattern, t.Name, t.Constants),
                GeneratedKernel g => CudaKernelPrinter.Print(g.Ir).Source,
                // An FP8 GEMM runs on cuBLASLt alone: no template source, only its epilogue kernel (checked below).
                GemmKernel { Fp8: true } => "",
                GemmKernel m => GemmSource.Specialize(m.Name, m.N, m.K, m.Epilogue.Ir with { Name = m.Name + "_epilogue" }, KernelTemplates.Get(GemmSource.Pattern), m.Int8),
                _ => throw new InvalidOperationException(kernel.GetType().Name),
            };
            Assert.Equal(expected, kernel.CudaSource);
            if (kernel is GeneratedKernel generated) Assert.Equal(generated.LoopIr, LoopIrText.Print(LoopIrText.Parse(generated.LoopIr)));
            if (kernel is GemmKernel { Fp8: true } fp8) Assert.Equal(CudaKernelPrinter.Print(fp8.Epilogue.Ir).Source, fp8.Epilogue.CudaSource);
        }
    }

    [Fact]
    public void SwinBlocksFuseIntoFewKernels()
    {
        // Two blocks of stage 1: per block a LN+(roll)+partition kernel, the qkv and proj GEMMs, the attention template, a
        // reverse+(roll)+residual+LN kernel, and fc1+gelu and fc2+residual GEMMs (shared where identical).
        var kernels = SwinStage1Blocks.Kernels;
        Assert.Equal(kernels.Count, kernels.Select(k => k.Name).Distinct().Count());
        Assert.Contains(kernels, k => k.Name == "window_attention_h3_d32_t49_nw64_masked");
        Assert.Contains(kernels, k => k.Name.StartsWith("layer_norm_roll_window_partition_f16_", StringComparison.Ordinal));
        Assert.Contains(kernels, k => k.Name.StartsWith("window_reverse_roll_add_layer_norm_f16_", StringComparison.Ordinal));
        var fc2 = kernels.OfType<GemmKernel>().Single(k => k.Name == "gemm_bias_add_n96_k384");
        Assert.Equal(Activation.None, fc2.Cublas!.Activation);
        Assert.True(fc2.Cublas.Bias >= 0 && fc2.Cublas.Residual >= 0 && fc2.Cublas.Bias != fc2.Cublas.Residual, $"{fc2.Cublas}");
        var fc1 = kernels.OfType<GemmKernel>().Single(k => k.Name == "gemm_bias_gelu_n384_k96");
        Assert.Equal(Activation.Gelu, fc1.Cublas!.Activation);
    }

    [Theory]
    [MemberData(nameof(KernelsAndArchitectures))]
    public void EveryGeneratedKernelCompilesToPtx(string name, string arch, int io)
    {
        ClangPtx.RequireCompiler();
        var kernel = AllKernels().First(k => k.Name == name);
        // An FP8 GEMM has no template (cuBLASLt runs it): its epilogue kernel is what compiles.
        if (kernel is GemmKernel { Fp8: true } fp8) kernel = fp8.Epilogue;
        var source = UsesIo(kernel) ? $"#define FUSION_IO_HALF {io}\n" + kernel.CudaSource : kernel.CudaSource;
        var ptx = ClangPtx.Compile(source, arch, kernel.Name);
        Assert.Contains(".entry " + kernel.Name, ptx);
    }

    private static bool UsesIo(IKernel kernel) => kernel switch
    {
        GeneratedKernel g => g.UsesIoType,
        GemmKernel m => m.Epilogue.UsesIoType,
        _ => false,
    };
}
