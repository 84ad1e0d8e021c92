using Fusion.Compiler;
using Fusion.Testing;

namespace Fusion.Runtime.Tests.Compiler;

/// <summary>
/// The CUDA C printed for every lowered group and every single-operator (eager) kernel must compile to PTX with clang-19 for
/// sm_80 and sm_90, in both variants the runtime compiles for kernels with io buffers (FUSION_IO_HALF 0 and 1). Skips visibly
/// without clang.
/// </summary>
public class GeneratedCudaPtxTests
{
    public static TheoryData<string, int> ArchitecturesAndIoTypes => new()
    {
        { "sm_80", 0 },
        { "sm_80", 1 },
        { "sm_90", 0 },
        { "sm_90", 1 },
    };

    /// <summary>
    /// All kernels in one translation unit per variant (a clang run costs ~0.3 s; one per kernel and variant would
    /// dominate the suite). clang's diagnostics quote the failing line, and each kernel starts with a comment naming it.
    /// </summary>
    [Theory]
    [MemberData(nameof(ArchitecturesAndIoTypes))]
    public void LoweredGroupsCompileToPtx(string arch, int ioHalf)
    {
        ClangPtx.RequireCompiler();
        var kernels = Kernels();
        Assert.Contains(kernels, k => k.UsesIoType);
        // The runtime passes -DFUSION_IO_HALF=0|1; ClangPtx takes no defines, so the variant is defined in the source.
        var source = $"#define FUSION_IO_HALF {ioHalf}\n" + string.Join("\n", kernels.Select(k => CudaKernelPrinter.Print(k).Source));
        var ptx = ClangPtx.Compile(source, arch, $"lowered_io{(ioHalf == 1 ? 16 : 32)}");
        Assert.Contains($".target {arch}", ptx);
        foreach (var k in kernels) Assert.Contains($".entry {k.Name}(", ptx);
        // Each kernel waits for the previous grid once, on sm_90 (programmatic dependent launch); below it the wait is compiled out.
        int waits = ptx.Split("griddepcontrol.wait;").Length - 1;
        Assert.Equal(arch == "sm_90" ? kernels.Count : 0, waits);
    }

    /// <summary>
    /// The runtime may launch a printed kernel before the previous one has finished (Fusion.Cuda.ProgrammaticLaunch): that is safe
    /// only if its first statement is the wait, before any load or store.
    /// </summary>
    [Fact]
    public void EveryPrintedKernelWaitsForThePreviousGridFirst()
    {
        foreach (var k in Kernels())
        {
            var source = CudaKernelPrinter.Print(k).Source;
            var body = source.Substring(source.IndexOf("__global__", StringComparison.Ordinal));
            var firstStatement = body.Substring(body.IndexOf('{') + 1).TrimStart().Split('\n')[0];
            Assert.Equal(Fusion.Cuda.ProgrammaticLaunch.Marker + ";", firstStatement);
            Assert.True(Fusion.Cuda.ProgrammaticLaunch.IsDeclaredBy(source), k.Name);
        }
    }

    [Fact]
    public void EveryPrintingStrategyIsCovered()
    {
        // The kernels reach each of the printer's kernel shapes, so the compile checks above cover all of them.
        var strategies = Kernels().Select(k => CudaKernelPrinter.Print(k).Strategy).ToHashSet();
        Assert.Equal(["looped-row", "pointwise", "row", "strided"], strategies.Order());
    }

    private static List<LoopKernel> Kernels() =>
        FusedGroups.All.Keys.Select(name => FusedGroups.Get(name).Lower().Kernel)
            .Concat(Enumerable.Range(0, SingleOpKernels.Cases.Count).Select(i => SingleOpKernels.Lower(i).Kernel)).ToList();
}
