using Fusion.Kernels;
using Fusion.Testing;
using SwinTiny.Model;

namespace Fusion.SwinTiny.Tests;

/// <summary>The kernels the generator emitted for the Swin blocks: well-formed, identical to the runtime's specialization, and compilable.</summary>
public sealed class GeneratedKernelTests
{
    /// <summary>Every distinct kernel the generator emitted for the sample's and the tests' models.</summary>
    private static IEnumerable<FusedKernel> AllKernels() =>
        SwinTransformerTiny.Kernels.Concat(SwinStage1Blocks.Kernels).Concat(OddSwinBlocks.Kernels).Concat(SwinMini.Kernels)
            .GroupBy(k => k.Name).Select(g => g.First());

    public static TheoryData<string, string> KernelsAndArchitectures()
    {
        var data = new TheoryData<string, string>();
        foreach (var kernel in AllKernels())
        {
            data.Add(kernel.Name, "sm_80");
            data.Add(kernel.Name, "sm_90");
        }
        return data;
    }

    [Fact]
    public void SourcesMatchTheRuntimeSpecialization()
    {
        // The generator (netstandard2.0) and Fusion.Kernels each specialize templates; they must agree byte for byte.
        foreach (var kernel in AllKernels())
            Assert.Equal(KernelTemplates.Specialize(kernel.Pattern, kernel.Name, kernel.Constants), kernel.CudaSource);
    }

    [Fact]
    public void SwinBlocksUseTenDistinctKernels()
    {
        Assert.Equal(10, SwinStage1Blocks.Kernels.Count);
        Assert.Equal(SwinStage1Blocks.Kernels.Count, SwinStage1Blocks.Kernels.Select(k => k.Name).Distinct().Count());
        var attention = SwinStage1Blocks.Kernels.Single(k => k.Name == "window_attention_h3_d32_t49_nw64_masked");
        Assert.Equal(64, attention.Constant("WINDOWS"));
        Assert.Equal(1, attention.Constant("HAS_MASK"));
    }

    [Theory]
    [MemberData(nameof(KernelsAndArchitectures))]
    public void EveryGeneratedKernelCompilesToPtx(string name, string arch)
    {
        ClangPtx.RequireCompiler();
        var kernel = AllKernels().First(k => k.Name == name);
        var ptx = ClangPtx.Compile(kernel.CudaSource, arch, name);
        Assert.Contains(".entry " + name, ptx);
    }
}
