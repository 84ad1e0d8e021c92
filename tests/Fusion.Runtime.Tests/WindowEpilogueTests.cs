using Fusion.Testing;


namespace Fusion.Runtime.Tests;

/// <summary>
/// A Linear's epilogue stored through a window reverse and a roll ([FusedModel(ViewsInGemmEpilogue = true)], GemmEpilogue with
/// GroupLowering's stored-through views): the projection's GEMM computes over its own windowed index and stores the residual sum
/// where the views put it. Against the eager forward and against the default plan (the reverse, roll and add in norm2's kernel), on
/// fresh random parameters and inputs, batch 3; the kernels it plans; and their PTX.
/// </summary>
public sealed class WindowEpilogueTests
{
    [Theory]
    [InlineData(Fusion.Precision.Float, 1e-5)]
    [InlineData(Fusion.Precision.Half, 2e-2)] // fp16 rounds every stored value; eager f32 none
    public void StoringThroughTheViewsComputesWhatTheDefaultPlanDoes(Fusion.Precision precision, double tolerance)
    {
        int seed = TestData.NewSeed();
        var views = new WindowProjectionViews();
        var plain = new WindowProjection();
        // The same values in the same order: the two models' parameters are the same tree.
        TestData.InitParameters(plain, seed);
        TestData.InitParameters(views, seed);
        using var input = TestData.Random(seed + 1, 3, 8, 12, 12).ToCpu();
        using var eager = plain.Forward(input);
        using var stored = new ModelSession(views, new SessionOptions(CpuBackend.Instance, precision)).Run(input);
        using var grouped = new ModelSession(plain, new SessionOptions(CpuBackend.Instance, precision)).Run(input);
        Tolerance.AssertClose(stored, RefTensor.FromCpu((CpuTensor)eager), tolerance, tolerance, $"{precision} plan stored through the views vs eager (seed {seed})");
        Tolerance.AssertClose(stored, RefTensor.FromCpu((CpuTensor)grouped), tolerance, tolerance, $"{precision} plan stored through the views vs the default plan (seed {seed})");
    }

    /// <summary>
    /// With the option each block's projection GEMM takes the reverse (and the shifted block's roll) and the residual add, and norm2
    /// runs alone; by default norm2's kernel holds the reverse, roll and add, and the GEMM only its bias.
    /// </summary>
    [Fact]
    public void TheProjectionTakesTheReverseTheRollAndTheResidual()
    {
        var stored = WindowProjectionViews.Kernels.OfType<GemmKernel>().Where(g => g.N == 12 && g.K == 12).Select(g => g.Name).Distinct().ToList();
        Assert.Contains(stored, n => n.Contains("window_reverse_add", StringComparison.Ordinal));
        Assert.Contains(stored, n => n.Contains("window_reverse_roll_add", StringComparison.Ordinal));
        // The GEMMs' own epilogue kernels (cuBLASLt's path) are named after them; no other kernel reverses the windows.
        Assert.DoesNotContain(WindowProjectionViews.Kernels.OfType<GeneratedKernel>(),
            k => k.Name.Contains("window_reverse", StringComparison.Ordinal) && !k.Name.EndsWith("_epilogue", StringComparison.Ordinal));
        Assert.Contains(WindowProjectionViews.Kernels.OfType<GeneratedKernel>(), k => k.Name.StartsWith("layer_norm_", StringComparison.Ordinal));
        Assert.Contains(WindowProjection.Kernels.OfType<GeneratedKernel>(), k => k.Name.Contains("window_reverse_roll_add_layer_norm", StringComparison.Ordinal));
        Assert.DoesNotContain(WindowProjection.Kernels.OfType<GemmKernel>(), g => g.Name.Contains("window_reverse", StringComparison.Ordinal));
    }

    /// <summary>The fp16 and int8 GEMMs whose epilogue stores through the views compile to PTX for sm_90 (tensor-core mma, no local memory).</summary>
    [Fact]
    public void TheGemmsStoredThroughViewsCompileToPtx()
    {
        ClangPtx.RequireCompiler();
        var kernels = WindowProjectionViews.Kernels.OfType<GemmKernel>()
            .Where(g => g.Name.Contains("window_reverse", StringComparison.Ordinal) && g.CudaSource.Length > 0 && !g.Name.EndsWith("_f32", StringComparison.Ordinal)).ToList();
        Assert.Contains(kernels, g => !g.Int8); // the Half plan's, at least
        foreach (var kernel in kernels)
            foreach (int io in kernel.Epilogue.UsesIoType ? new[] { 0, 1 } : [0])
            {
                var ptx = ClangPtx.Compile($"#define FUSION_IO_HALF {io}\n" + kernel.CudaSource, "sm_90", kernel.Name);
                Assert.Contains($".entry {kernel.Name}(", ptx);
                Assert.Contains(kernel.Int8 ? "mma.sync.aligned.m16n8k32" : "mma.sync.aligned.m16n8k16", ptx);
                Assert.DoesNotContain(".local", ptx);
            }
    }
}
