using Fusion.Compiler;
using Fusion.Ilgpu;

namespace Fusion.Cuda.Tests;

/// <summary>
/// The register allowance written into ILGPU's PTX (<see cref="PtxRegisterBudget"/>): on a generated kernel's real PTX the directive
/// stands once, between the entry's parameter list and its body (where ptxas reads entry directives), and nowhere else; a second
/// application keeps the first; an allowance ptxas cannot take, or PTX without an entry, is an error naming the kernel. The GPU
/// tests run kernels compiled with it.
/// </summary>
public sealed class PtxRegisterBudgetTests
{
    [Fact]
    public void TheDirectiveStandsOnceBetweenTheEntrysParametersAndItsBody()
    {
        var kernel = IlgpuKernels.SwinBlocks().First(k => k.Name.Contains("gelu", StringComparison.Ordinal));
        var (ptx, entry) = IlgpuPtxCompiler.Compile(kernel.IlgpuMethod(DType.Float16)!, kernel.Name);
        string budgeted = PtxRegisterBudget.Apply(ptx, PtxRegisterBudget.Generated, kernel.Name);
        Assert.Equal(1, budgeted.Split(".maxnreg").Length - 1);
        int at = budgeted.IndexOf(".maxnreg 48\n", StringComparison.Ordinal), header = budgeted.IndexOf($".entry {entry}(", StringComparison.Ordinal);
        Assert.True(header >= 0 && at > header, "the directive follows the entry's name");
        Assert.Equal(")", budgeted[header..at].TrimEnd()[^1..]);
        Assert.Equal('{', budgeted[at..].Split('\n', 2)[1].TrimStart()[0]);
        Assert.Equal(ptx, budgeted.Remove(at, ".maxnreg 48\n".Length));
        Assert.Equal(budgeted, PtxRegisterBudget.Apply(budgeted, 64, kernel.Name));
    }

    /// <summary>
    /// Which of the Swin blocks' generated kernels get the allowance: the float32 pointwise ones (the float plan's GEMM epilogues, GELU
    /// among them) and nothing with an fp16 buffer or a reduction (the LayerNorm row kernels, which ptxas would spill under 48).
    /// </summary>
    [Fact]
    public void OnlyFloat32PointwiseKernelsGetTheAllowance()
    {
        var kernels = IlgpuKernels.SwinBlocks().DistinctBy(k => k.Name).ToList();
        var given = kernels.Where(k => PtxRegisterBudget.For(k.Ir, DType.Float16) == PtxRegisterBudget.Generated).Select(k => k.Name).ToList();
        Assert.Contains(given, n => n.StartsWith("gemm_bias_gelu_", StringComparison.Ordinal) && n.EndsWith("_f32_epilogue", StringComparison.Ordinal));
        // The float plan's GEMM epilogues, and the Int8 plan's load-time f32 kernels (1 / an input's scale): float32 buffers only.
        Assert.All(kernels.Where(k => given.Contains(k.Name)), k => Assert.All(k.Ir.Buffers, b => Assert.Equal(FloatType.F32, b.Type)));
        Assert.DoesNotContain(kernels, k => k.Name.Contains("layer_norm", StringComparison.Ordinal) && PtxRegisterBudget.For(k.Ir, DType.Float32) is not null);
        Assert.DoesNotContain(kernels, k => k.Name.StartsWith("gemm_bias_gelu_", StringComparison.Ordinal) && !k.Name.Contains("_f32", StringComparison.Ordinal)
            && PtxRegisterBudget.For(k.Ir, DType.Float16) is not null);
    }

    [Fact]
    public void AnAllowancePtxasCannotTakeOrPtxWithoutAnEntryIsAnError()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PtxRegisterBudget.Apply(".entry k()\n{\n}\n", 8, "k"));
        Assert.Throws<ArgumentOutOfRangeException>(() => PtxRegisterBudget.Apply(".entry k()\n{\n}\n", 256, "k"));
        var e = Assert.Throws<FusionException>(() => PtxRegisterBudget.Apply(".func f()\n{\n}\n", 48, "gemm_bias_gelu_x"));
        Assert.Contains("kernel gemm_bias_gelu_x", e.Message);
    }
}
