using Fusion.Testing;

namespace Fusion.Runtime.Tests;

/// <summary>
/// <see cref="SmallConvNet"/> compiled against its eager Forward on the CPU (float32, batches 1 and 3): both compute the graph the
/// descriptors build, the compiled one fused and scheduled, so they differ in summation order only: 1e-4 absolute and relative.
/// Random weights in ±1/√fan-in, batch-norm statistics away from 0 and 1 so the normalization matters.
/// </summary>
public sealed class CompiledConvNetTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void CompiledConvNetMatchesTheEagerForward(int batch)
    {
        int seed = TestData.NewSeed();
        var model = new SmallConvNet();
        ConvNetWeights.Initialize(model, seed);
        using var input = TestData.Random(seed + 1, batch, 3, 17, 15).ToCpu();
        using var compiled = model.Run(input);
        using var eager = model.Forward(input);
        Assert.Equal(new Shape(batch, 10), compiled.Shape);
        Tolerance.AssertClose(compiled, RefTensor.FromCpu((CpuTensor)eager), 1e-4, 1e-4, $"compiled vs eager conv net, batch {batch} (seed {seed})");
    }

    /// <summary>
    /// <see cref="ImplicitConvNet"/> compiled against its eager Forward on the CPU: its implicit-GEMM convolutions run there as the
    /// gather kernel (the im2col view of the channels-last image) and the GEMM, the eager one as im2col of the NCHW tensor.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void ImplicitGemmConvolutionsMatchTheEagerForward(int batch)
    {
        int seed = TestData.NewSeed();
        var model = new ImplicitConvNet();
        ConvNetWeights.Initialize(model, seed);
        using var input = TestData.Random(seed + 1, batch, 16, 9, 11).ToCpu();
        foreach (var precision in new[] { Fusion.Precision.Float, Fusion.Precision.Half })
        {
            using var compiled = new ModelSession(model, new SessionOptions(CpuBackend.Instance, precision)).Run(input);
            using var eager = model.Forward(input);
            double tolerance = precision == Fusion.Precision.Half ? 2e-2 : 1e-4; // fp16 rounds every stored value, eager f32 none
            Tolerance.AssertClose(compiled, RefTensor.FromCpu((CpuTensor)eager), tolerance, tolerance, $"{precision} implicit-GEMM convolutions vs eager, batch {batch} (seed {seed})");
        }
    }

    /// <summary>
    /// In the Half plan every convolution of one group is an implicit GEMM (the GEMM reads the image; no im2col kernel is stored):
    /// those over channels-last values with channels a multiple of 8 as they are, and the one over the NCHW image (16 channels) after
    /// a copy of the image to channels-last. The Float plan has no implicit GEMMs (the template is fp16): it gathers that one's im2col.
    /// </summary>
    [Fact]
    public void ChannelsLastConvolutionsAreImplicitGemms()
    {
        var gemms = ImplicitConvNet.Kernels.OfType<GemmKernel>().ToList();
        var halfGemms = gemms.Where(g => g.Conv is not null && !Float32(g)).Select(g => (g.N, g.K, g.Conv!.Kernel, g.Conv.Stride, g.Conv.Dilation)).OrderBy(g => g).ToList();
        Assert.Equal(new[] { (8, 360, 3, 1, 2), (24, 144, 3, 1, 1), (24, 216, 3, 1, 1), (40, 24, 1, 2, 1), (40, 216, 3, 2, 1) }, halfGemms);
        Assert.All(gemms.Where(g => g.Conv is not null && !Float32(g)), g =>
        {
            Assert.StartsWith("conv_gemm", g.Name);
            Assert.Contains("#define FUSION_CONV_C", g.CudaSource);
            Assert.NotNull(g.IlgpuMethod(DType.Float16)); // the ILGPU template's implicit-GEMM form
        });
        // The Float plan's convolutions over channels-last images are implicit GEMMs too (the CPU gathers their windows inside its
        // GEMM; the GPU gathers, then cuBLASLt).
        var floatGemms = gemms.Where(g => g.Conv is not null && Float32(g)).Select(g => (g.N, g.K, g.Conv!.Kernel, g.Conv.Stride, g.Conv.Dilation)).OrderBy(g => g).ToList();
        Assert.Equal(new[] { (8, 360, 3, 1, 2), (24, 216, 3, 1, 1), (40, 24, 1, 2, 1), (40, 216, 3, 2, 1) }, floatGemms);
        Assert.Contains(gemms, g => g.Conv is null && g.K == 144); // conv1 over the NCHW image in the Float plan: its im2col gathered
    }

    private static bool Float32(GemmKernel g) => g.Name.EndsWith("_f32", StringComparison.Ordinal);

    /// <summary>
    /// With PoolInGemmEpilogue, the global average pool after the last convolution is that convolution's GEMM's: its epilogue adds each value into the pooled
    /// [B, 1, 1, 8] float32 result (an accumulating store), in every plan (the Int8 one's int8 GEMM too), and no kernel of its own reads the convolution's result
    /// back. The results against the eager Forward are the tests above.
    /// </summary>
    [Fact]
    public void TheGlobalPoolIsSummedInTheLastConvolutionsEpilogue()
    {
        var pooled = ImplicitConvNet.Kernels.OfType<GemmKernel>().Where(g => g.Epilogue.Ir.Accumulates).ToList();
        // The Float plan's GEMM, the Half plan's implicit GEMM and the Int8 plan's int8 GEMM (over gathered codes: 40 channels).
        Assert.Equal(3, pooled.Count);
        Assert.Single(pooled, g => g.Int8);
        Assert.All(pooled, g =>
        {
            Assert.Equal(8, g.N);
            Assert.Contains("mean", g.Name);
            var output = Assert.Single(g.Epilogue.Ir.Outputs);
            Assert.Equal(Fusion.Compiler.FloatType.F32, output.Type);
            Assert.Equal("[N, 1, 1, 8]", Fusion.Compiler.Dims.Text(output.Shape));
            Assert.Null(g.Cublas); // cuBLASLt's own epilogues store the whole product
        });
        Assert.DoesNotContain(ImplicitConvNet.Kernels.OfType<GeneratedKernel>(), k => k.Name.StartsWith("mean", StringComparison.Ordinal));
        // Without [FusedModel(PoolInGemmEpilogue = true)] the pool stays a kernel of its own, reading the stored result.
        Assert.DoesNotContain(SmallConvNet.Kernels.OfType<GemmKernel>(), g => g.Epilogue.Ir.Accumulates);
        Assert.Contains(SmallConvNet.Kernels.OfType<GeneratedKernel>(), k => k.Name.StartsWith("mean", StringComparison.Ordinal));
    }

    /// <summary>
    /// The Half plan pads the 3×3 stem over the 3-channel image to 8 channels, so it too is an implicit GEMM; the stride-2 1×1 shortcut
    /// over 12 channels keeps its gather (its windows do not overlap: the gather writes no more than it reads). Computed on the CPU the
    /// plan still matches the eager float32 Forward within fp16 rounding (the added channels multiply zeros), at batch 1 and 3.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void PaddedConvolutionsMatchTheEagerForward(int batch)
    {
        var padded = SmallConvNet.Kernels.OfType<GemmKernel>().Where(g => g.Conv is not null).Select(g => (g.N, g.K, g.Conv!.Channels)).OrderBy(g => g).ToList();
        Assert.Equal(new[] { (12, 72, 8) }, padded);
        int seed = TestData.NewSeed();
        var model = new SmallConvNet();
        ConvNetWeights.Initialize(model, seed);
        using var input = TestData.Random(seed + 1, batch, 3, 17, 15).ToCpu();
        using var compiled = new ModelSession(model, new SessionOptions(CpuBackend.Instance, Fusion.Precision.Half)).Run(input);
        using var eager = model.Forward(input);
        Tolerance.AssertClose(compiled, RefTensor.FromCpu((CpuTensor)eager), 2e-2, 2e-2, $"Half plan with padded convolutions vs eager, batch {batch} (seed {seed})");
    }

    /// <summary>Each implicit-GEMM convolution compiles to PTX for sm_90: tensor-core mma, cp.async loads (zero-filling the padding), no local memory.</summary>
    [Fact]
    public void ImplicitGemmConvolutionsCompileToPtx()
    {
        ClangPtx.RequireCompiler();
        foreach (var kernel in ImplicitConvNet.Kernels.OfType<GemmKernel>().Where(g => g.Conv is not null))
            foreach (int io in kernel.Epilogue.UsesIoType ? new[] { 0, 1 } : [0])
            {
                var ptx = ClangPtx.Compile($"#define FUSION_IO_HALF {io}\n" + kernel.CudaSource, "sm_90", kernel.Name);
                Assert.Contains($".entry {kernel.Name}(", ptx);
                Assert.Contains("mma.sync.aligned.m16n8k16", ptx);
                Assert.Contains("cp.async.cg.shared.global", ptx);
                Assert.DoesNotContain(".local", ptx);
                if (!kernel.Epilogue.Ir.Accumulates) continue;
                // The pooled one (the last convolution, the global pool in its epilogue): its lanes' sums of one column meet by a shuffle,
                // then one reduction in memory adds a column pair (Hopper's two-float red), the scalar one where the pair is split.
                Assert.Contains("shfl.sync.bfly.b32", ptx);
                Assert.Contains("red.global.add.v2.f32", ptx);
                Assert.Contains("red.add.f32", ptx);
            }
    }

    /// <summary>
    /// The convolutions of one group are GEMMs of (N, K) = (out, k²·in): stem (12, 27), the 1×1 and the shortcut (20, 12), beside
    /// the head (10, 20); the depthwise (k² = 25 taps) and grouped (9·5 = 45) ones are generated reductions, not GEMMs. The Half
    /// plan's stem reads 8 channels instead (padded: (12, 72)).
    /// </summary>
    [Fact]
    public void OneGroupConvolutionsAreGemms()
    {
        var shapes = SmallConvNet.Kernels.OfType<GemmKernel>().Select(k => (k.N, k.K)).Distinct().OrderBy(s => s).ToList();
        Assert.Equal(new[] { (10, 20), (12, 27), (12, 72), (20, 12) }, shapes);
    }
}
