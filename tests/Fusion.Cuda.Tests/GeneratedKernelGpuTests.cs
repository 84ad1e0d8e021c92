using Fusion.Runtime.Tests.Compiler;
using Fusion.Compiler;
using Fusion.Cuda.Gemm;
using Fusion.Testing;
using SwinTiny.Model;
using CDim = Fusion.Compiler.Dim;

namespace Fusion.Cuda.Tests;

/// <summary>
/// A generated kernel the GPU tests run: the strategy the CUDA printer must pick for it, the input range (by buffer) and the float32
/// tolerance when the default one (<see cref="KernelChecks.Float"/>) does not fit its outputs' magnitudes.
/// </summary>
internal sealed record GeneratedCase(string Name, GeneratedKernel Kernel, string Strategy,
    Func<int, KernelBuffer, (double Low, double High)>? Range = null, Tol? FloatTolerance = null)
{
    public Tol ToleranceFor(DType output) => output == DType.Float16 ? KernelChecks.Half : FloatTolerance ?? KernelChecks.Float;
}

/// <summary>
/// Generated kernels covering each of the CUDA printer's strategies and the float-type cases, lowered from hand-built groups
/// (<see cref="LoweringGraph"/>), plus every generated kernel and GEMM of the sample's compiled Swin-T stage-1 blocks
/// (<see cref="SwinStage1Blocks"/>, linked into this project so the generator compiles it here too).
/// </summary>
internal static class GeneratedKernelCatalog
{
    private static readonly CDim N = CDim.Batch();

    private static CDim S(long value) => CDim.Static(value);

    private static readonly Lazy<Dictionary<string, GeneratedCase>> s_cases = new(() => new[]
    {
        PointwiseBroadcast(),
        LayerNorm(30, FloatType.F32, "layer_norm_c30_f32"),
        LayerNorm(768, FloatType.F16, "layer_norm_c768_f16"),
        MeanMiddleAxis(),
        DepthwiseChannelsLast(),
        DilatedDepthwiseChannelsLast(),
        MaxPoolChannelsLast(),
        CenterMiddleAxis(),
        LongSoftmax(),
        ConcatPadGelu(),
        AddLayerNormIo(),
    }.ToDictionary(c => c.Name));

    public static IReadOnlyDictionary<string, GeneratedCase> Cases => s_cases.Value;

    /// <summary>
    /// The model's generated kernels and GEMMs (its window-attention templates are FusedKernelTests' business). Those of the
    /// quantized plans (int8 or FP8 codes in a buffer, int8 and FP8 GEMMs) take codes, not random floats: Int8PlanGpuTests,
    /// Fp8PlanGpuTests and Int8GemmKernelTests run them against the CPU on calibrated inputs.
    /// </summary>
    public static IReadOnlyList<IKernel> SwinBlockKernels { get; } = SwinStage1Blocks.Kernels
        .Where(k => k is GeneratedKernel g ? g.Ir.Buffers.All(b => !b.Type.IsCode()) : k is GemmKernel { Int8: false, Fp8: false } m && m.Epilogue.Ir.Buffers.All(b => !b.Type.IsCode()))
        .ToList();

    public static IKernel SwinBlockKernel(string name) => SwinBlockKernels.Single(k => k.Name == name);

    /// <summary>Whether a kernel's CUDA C is compiled once per input/output type.</summary>
    public static bool UsesIo(IKernel kernel) => kernel switch
    {
        GeneratedKernel g => g.UsesIoType,
        GemmKernel m => m.Epilogue.UsesIoType,
        _ => false,
    };

    /// <summary>The io types a kernel runs with: both when it has buffers of that type, else one (it does not matter which).</summary>
    public static DType[] IoTypes(IKernel kernel) => UsesIo(kernel) ? [DType.Float16, DType.Float32] : [DType.Float32];

    /// <summary>gelu(x·scale + shift)·gate: x [N, 7, 30] fp16, scale [7, 1] and shift [30] fp32, gate [N, 1, 30] fp16 (broadcast along a middle axis).</summary>
    private static GeneratedCase PointwiseBroadcast()
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.F16, N, S(7), S(30));
        int scale = g.Param(FloatType.F32, S(7), S(1));
        int shift = g.Param(FloatType.F32, S(30));
        int gate = g.Input(FloatType.F16, N, S(1), S(30));
        int scaled = g.Op(Ops.Mul, [x, scale]);
        int shifted = g.Op(Ops.Add, [scaled, shift]);
        int gelu = g.Op(Ops.Gelu, [shifted]);
        int gated = g.Op(Ops.Mul, [gelu, gate]);
        return new("broadcast_scale_shift_gelu_gate", g.Kernel("broadcast_scale_shift_gelu_gate", [scaled, shifted, gelu, gated], gated), "pointwise");
    }

    /// <summary>LayerNorm over C of x [N, 13, C] in <paramref name="type"/> (weights fp32): a row reduction held in registers.</summary>
    private static GeneratedCase LayerNorm(int c, FloatType type, string name)
    {
        var g = new LoweringGraph();
        int x = g.Input(type, N, S(13), S(c));
        int w = g.Param(FloatType.F32, S(c));
        int b = g.Param(FloatType.F32, S(c));
        int ln = g.Op(Ops.LayerNorm, [x, w, b], AttributeSet.Of(OpAttribute.Real("eps", 1e-5)));
        // x in [−1, 3): an offset mean makes the two-pass variance matter.
        return new(name, g.Kernel(name, [ln], ln), "row", (_, buffer) => buffer.Shape.Count == 3 ? (-1, 3) : (-1, 1));
    }

    /// <summary>
    /// A depthwise 3×3 convolution, stride 2, padding 1, of a channels-last image x [N, 9, 11, 16] fp16 (read through the permute to
    /// NCHW, as a model's layout pass leaves it), weight [9 taps, 16] and bias [16] fp32: a strided reduction whose threads take 8
    /// channels each, 16-byte loads guarded by the padding.
    /// </summary>
    private static GeneratedCase DepthwiseChannelsLast()
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.F16, N, S(9), S(11), S(16));
        int nchw = g.Op(Ops.Permute, [x], AttributeSet.Of(OpAttribute.IntList("axes", [0, 3, 1, 2])));
        int windows = g.Op(Ops.ConvWindows, [nchw], ConvAttributes(channels: 16, value: 0));
        int w = g.Param(FloatType.F32, S(9), S(16));
        int b = g.Param(FloatType.F32, S(16));
        int product = g.Op(Ops.Mul, [windows, w]);
        int sum = g.Op(Ops.Sum, [product], AttributeSet.Of(OpAttribute.IntList("axes", [3]), OpAttribute.Int("keepDim", 0)));
        int biased = g.Op(Ops.Add, [sum, b]);
        return new("depthwise_3x3_s2_nhwc_c16", g.Kernel("depthwise_3x3_s2_nhwc_c16", [nchw, windows, product, sum, biased], biased), "strided");
    }

    /// <summary>
    /// A depthwise 5×5 convolution, dilation 2, padding 4, stride 1, of a channels-last image x [N, 6, 10, 12] fp32, weight [25, 12]:
    /// 4 channels a thread (12 is no multiple of 8) and 2 neighbouring pixels (10 is no power of two), whose dilated windows overlap
    /// every other column.
    /// </summary>
    private static GeneratedCase DilatedDepthwiseChannelsLast()
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.F32, N, S(6), S(10), S(12));
        int nchw = g.Op(Ops.Permute, [x], AttributeSet.Of(OpAttribute.IntList("axes", [0, 3, 1, 2])));
        int windows = g.Op(Ops.ConvWindows, [nchw], ConvAttributes(channels: 12, value: 0, kernel: 5, stride: 1, padding: 4, dilation: 2));
        int w = g.Param(FloatType.F32, S(25), S(12));
        int product = g.Op(Ops.Mul, [windows, w]);
        int sum = g.Op(Ops.Sum, [product], AttributeSet.Of(OpAttribute.IntList("axes", [3]), OpAttribute.Int("keepDim", 0)));
        return new("depthwise_5x5_d2_nhwc_c12", g.Kernel("depthwise_5x5_d2_nhwc_c12", [nchw, windows, product, sum], sum), "strided");
    }

    /// <summary>A 3×3 max pool, stride 2, padding 1, of a channels-last x [N, 7, 15, 24] fp16: the padding reads −∞ for a whole vector.</summary>
    private static GeneratedCase MaxPoolChannelsLast()
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.F16, N, S(7), S(15), S(24));
        int nchw = g.Op(Ops.Permute, [x], AttributeSet.Of(OpAttribute.IntList("axes", [0, 3, 1, 2])));
        int windows = g.Op(Ops.ConvWindows, [nchw], ConvAttributes(channels: 24, value: double.NegativeInfinity));
        int max = g.Op(Ops.Max, [windows], AttributeSet.Of(OpAttribute.IntList("axes", [3]), OpAttribute.Int("keepDim", 0)));
        return new("max_pool_3x3_s2_nhwc_c24", g.Kernel("max_pool_3x3_s2_nhwc_c24", [nchw, windows, max], max), "strided");
    }

    private static AttributeSet ConvAttributes(long channels, double value, long kernel = 3, long stride = 2, long padding = 1, long dilation = 1) =>
        AttributeSet.Of(OpAttribute.Int("kernel", kernel), OpAttribute.Int("stride", stride),
        OpAttribute.Int("padding", padding), OpAttribute.Int("dilation", dilation), OpAttribute.Int("groups", channels), OpAttribute.Int("outChannels", channels),
        OpAttribute.Real("value", value));

    /// <summary>x − mean over the middle axis of x [N, 5, 16] fp32: a strided kernel with a second walk that stores every element.</summary>
    private static GeneratedCase CenterMiddleAxis()
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.F32, N, S(5), S(16));
        int mean = g.Op(Ops.Mean, [x], AttributeSet.Of(OpAttribute.IntList("axes", [1]), OpAttribute.Int("keepDim", 1)));
        int centered = g.Op(Ops.Sub, [x, mean]);
        return new("center_middle_axis_f32", g.Kernel("center_middle_axis_f32", [mean, centered], centered), "strided");
    }

    /// <summary>2.5·mean over the middle axis of x [N, 49, 30] fp16, written fp32: a strided reduction, one thread walking each column.</summary>
    private static GeneratedCase MeanMiddleAxis()
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.F16, N, S(49), S(30));
        int mean = g.Op(Ops.Mean, [x], AttributeSet.Of(OpAttribute.IntList("axes", [1]), OpAttribute.Int("keepDim", 0)), FloatType.F32);
        int scaled = g.Op(Ops.Mul, [mean, g.Const(2.5)]);
        return new("mean_middle_axis_f16_f32", g.Kernel("mean_middle_axis_f16_f32", [mean, scaled], scaled), "strided");
    }

    /// <summary>
    /// softmax(4·x) over rows of 4096 of x [N, 3, 4096] fp16, written fp32: too long for registers, so a warp walks each row once per
    /// reduction. The outputs are about 1/512 down to 7e-7, so the float32 tolerance is relative: exp through ex2.approx with its
    /// argument rounded (≤ 5e-7 relative over [−8, 0]) and the 4096-term sums in other orders (≈1e-6) stay far under 1e-5.
    /// </summary>
    private static GeneratedCase LongSoftmax()
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.F16, N, S(3), S(4096));
        int scaled = g.Op(Ops.Mul, [x, g.Const(4.0)]);
        int softmax = g.Op(Ops.Softmax, [scaled], AttributeSet.Of(OpAttribute.Int("axis", -1)), FloatType.F32);
        return new("softmax_4096_f16_f32", g.Kernel("softmax_4096_f16_f32", [scaled, softmax], softmax), "looped-row", FloatTolerance: new Tol(1e-9, 1e-5));
    }

    /// <summary>Three io tensors joined along the middle axis, padded on two axes with 0.5, then GELU: selection between guarded loads.</summary>
    private static GeneratedCase ConcatPadGelu()
    {
        var group = FusedGroups.Get("concat_pad_gelu"); // the CPU tests' group, printed and run on the GPU here
        return new("concat_pad_gelu_io", group.Graph.Kernel("concat_pad_gelu_io", group.Members, group.Outputs), "pointwise");
    }

    /// <summary>x (io) + bias (fp16), then LayerNorm with fp32 weights; stores the normalized rows and the sum, both io.</summary>
    private static GeneratedCase AddLayerNormIo()
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.Io, N, S(5), S(96));
        int bias = g.Param(FloatType.F16, S(96));
        int w = g.Param(FloatType.F32, S(96));
        int b = g.Param(FloatType.F32, S(96));
        int sum = g.Op(Ops.Add, [x, bias]);
        int ln = g.Op(Ops.LayerNorm, [sum, w, b], AttributeSet.Of(OpAttribute.Real("eps", 1e-5)));
        return new("add_layer_norm_io", g.Kernel("add_layer_norm_io", [sum, ln], ln, sum), "row");
    }
}

/// <summary>
/// Generated kernels on the GPU against the CPU backend's interpreter of the same loop IR, on fresh random inputs shaped by the IR's
/// input buffers at batch 1 and 3 (each buffer in its own float type; io buffers in both io types): every kernel of
/// <see cref="GeneratedKernelCatalog"/> (one per printer strategy and float-type case) and every generated kernel and GEMM of the compiled
/// Swin-T stage-1 blocks. Tolerances: <see cref="KernelChecks.Half"/> for fp16 outputs (2e-3 + 2e-3·|cpu|: both compute in float32
/// and round once, so at most about one fp16 ulp apart), <see cref="KernelChecks.Float"/> for float32 ones (1e-5 + 1e-5·|cpu|: a few
/// float32 ulps from the approximate rsqrt/exp and summation order), <see cref="KernelChecks.HalfGemm"/> and
/// <see cref="KernelChecks.FloatGemm"/> for GEMMs (see there). GPU outputs start as NaN, so an element a kernel skips fails.
/// </summary>
public sealed class GeneratedKernelGpuTests(GemmKernelFolder folder) : GpuTestBase, IClassFixture<GemmKernelFolder>
{
    private static readonly int[] s_batches = [1, 3];

    public static TheoryData<string, int, DType> CatalogRuns()
    {
        var data = new TheoryData<string, int, DType>();
        foreach (var c in GeneratedKernelCatalog.Cases.Values)
            foreach (int batch in s_batches)
                foreach (var io in GeneratedKernelCatalog.IoTypes(c.Kernel))
                    data.Add(c.Name, batch, io);
        return data;
    }

    [Theory]
    [MemberData(nameof(CatalogRuns))]
    public void CatalogKernelMatchesTheCpu(string name, int batch, DType io)
    {
        var c = GeneratedKernelCatalog.Cases[name];
        using var cuda = new CudaBackend(Device, new KernelCache(folder.Path));
        var inputs = KernelChecks.RandomInputs(c.Kernel, batch, io, Rng.Next(), c.Range);
        KernelChecks.GpuMatchesCpu(cuda, c.Kernel, batch, io, inputs, name, c.ToleranceFor);
        KernelChecks.DisposeAll(inputs);
        Assert.Equal(1, cuda.Generated.Count);
    }

    /// <summary>
    /// The 64-bit index variant (FUSION_INDEX64, which launches reaching 2³⁰ elements take) computes what the 32-bit one does: every
    /// catalog kernel forced onto it, against the CPU. Tensors that large would not fit a test's time, so the variant is forced.
    /// </summary>
    [Theory]
    [MemberData(nameof(CatalogRuns))]
    public void CatalogKernelWith64BitIndicesMatchesTheCpu(string name, int batch, DType io)
    {
        var c = GeneratedKernelCatalog.Cases[name];
        using var cuda = new CudaBackend(Device, new KernelCache(folder.Path));
        cuda.Generated.ForceIndex64 = true;
        var inputs = KernelChecks.RandomInputs(c.Kernel, batch, io, Rng.Next(), c.Range);
        KernelChecks.GpuMatchesCpu(cuda, c.Kernel, batch, io, inputs, name + " (64-bit indices)", c.ToleranceFor);
        KernelChecks.DisposeAll(inputs);
    }

    public static TheoryData<string, int, DType> SwinBlockRuns()
    {
        var data = new TheoryData<string, int, DType>();
        foreach (var kernel in GeneratedKernelCatalog.SwinBlockKernels)
            foreach (int batch in s_batches)
                foreach (var io in GeneratedKernelCatalog.IoTypes(kernel))
                    data.Add(kernel.Name, batch, io);
        return data;
    }

    /// <summary>
    /// One kernel of the compiled Swin-T blocks: a generated kernel through <see cref="CudaBackend.Run"/>; a GEMM through
    /// <see cref="CudaBackend.Gemm"/> with fp16 operands on both paths (the template with its epilogue, and cuBLASLt with its own
    /// epilogue or the epilogue kernel), with float32 operands on the one float32 path (cuBLASLt, then the epilogue kernel).
    /// </summary>
    [Theory]
    [MemberData(nameof(SwinBlockRuns))]
    public void SwinBlockKernelMatchesTheCpu(string name, int batch, DType io)
    {
        switch (GeneratedKernelCatalog.SwinBlockKernel(name))
        {
            case GeneratedKernel kernel:
                {
                    using var cuda = new CudaBackend(Device, new KernelCache(folder.Path));
                    var inputs = KernelChecks.RandomInputs(kernel, batch, io, Rng.Next());
                    KernelChecks.GpuMatchesCpu(cuda, kernel, batch, io, inputs, name);
                    KernelChecks.DisposeAll(inputs);
                    break;
                }
            case GemmKernel kernel:
                {
                    var (x, w, epilogue) = KernelChecks.RandomGemmOperands(kernel, batch, io, Rng.Next());
                    bool half = x.DType == DType.Float16;
                    foreach (var policy in half ? new[] { GemmPolicy.Generated, GemmPolicy.CublasLt } : [GemmPolicy.CublasLt])
                    {
                        using var cuda = new CudaBackend(Device, new KernelCache(folder.Path), policy);
                        KernelChecks.GemmMatchesCpu(cuda, kernel, batch, io, x, w, epilogue, KernelChecks.ForGemm(kernel, io), $"{name} ({policy})");
                        if (!half) continue;
                        Assert.Equal(policy == GemmPolicy.Generated ? GemmPath.Generated : GemmPath.CublasLt, cuda.Gemms.LastPath);
                        // cuBLASLt's own epilogue stores a cast to io only where io is the GEMM's fp16 (ToIo).
                        bool epilogueKernel = kernel.Cublas is null || kernel.Cublas.ToIo && io != DType.Float16;
                        Assert.Equal(policy == GemmPolicy.CublasLt && epilogueKernel, cuda.Gemms.LastRunUsedEpilogueKernel);
                    }
                    KernelChecks.DisposeAll([x, w, .. epilogue]);
                    break;
                }
            default:
                throw new InvalidOperationException(name);
        }
    }
}

/// <summary>
/// What needs no GPU: each catalog kernel takes the printer strategy it is there for, the model's kernels are all listed, and every
/// kernel's CUDA C (catalog and model, both io variants) compiles to PTX for sm_80 and sm_90 with clang-19, so CI catches a printer
/// or template change that breaks the GPU build.
/// </summary>
public sealed class GeneratedKernelPtxTests
{
    [Fact]
    public void CatalogKernelsTakeTheirStrategies()
    {
        foreach (var c in GeneratedKernelCatalog.Cases.Values)
        {
            var printed = CudaKernelPrinter.Print(c.Kernel.Ir);
            Assert.True(c.Strategy == printed.Strategy, $"{c.Name}: strategy {printed.Strategy}, expected {c.Strategy}");
            Assert.Equal(printed.Source, c.Kernel.CudaSource);
            Assert.Equal(c.Name, c.Kernel.Name);
        }
        Assert.Equal(new HashSet<string> { "pointwise", "row", "strided", "looped-row" }, GeneratedKernelCatalog.Cases.Values.Select(c => c.Strategy).ToHashSet());
        Assert.Contains(GeneratedKernelCatalog.Cases.Values, c => c.Kernel.UsesIoType);
    }

    [Fact]
    public void SwinBlockKernelsAreReachable()
    {
        var kernels = GeneratedKernelCatalog.SwinBlockKernels;
        // The epilogue kernel after cuBLASLt's bare product: a GEMM cuBLASLt has no epilogue for, or one whose cast to io it stores
        // only where io is its own type (the blocks' last fc2, at float32 io).
        Assert.Contains(kernels, k => k is GemmKernel { Cublas: null } or GemmKernel { Cublas.ToIo: true });
        Assert.Contains(kernels, k => k is GemmKernel { Cublas: not null });
        Assert.Contains(kernels, k => k is GeneratedKernel g && g.UsesIoType);
        Assert.Contains(kernels, k => k is GeneratedKernel g && g.Ir.HasReduction);
        Assert.Equal(kernels.Count, kernels.Select(k => k.Name).Distinct().Count());
    }

    public static TheoryData<string, string, int> KernelsAndArchitectures()
    {
        var data = new TheoryData<string, string, int>();
        foreach (var kernel in AllKernels())
            foreach (int io in GeneratedKernelCatalog.UsesIo(kernel) ? new[] { 0, 1 } : [0])
                foreach (var arch in new[] { "sm_80", "sm_90" })
                    data.Add(kernel.Name, arch, io);
        return data;
    }

    [Theory]
    [MemberData(nameof(KernelsAndArchitectures))]
    public void KernelCompilesToPtx(string name, string arch, int io)
    {
        ClangPtx.RequireCompiler();
        var kernel = AllKernels().Single(k => k.Name == name);
        // An FP8 GEMM has no template (cuBLASLt runs it): its epilogue kernel is what compiles.
        if (kernel is GemmKernel { Fp8: true } fp8) kernel = fp8.Epilogue;
        var source = GeneratedKernelCatalog.UsesIo(kernel) ? $"#define FUSION_IO_HALF {io}\n" + kernel.CudaSource : kernel.CudaSource;
        var ptx = ClangPtx.Compile(source, arch, kernel.Name);
        Assert.Contains($".target {arch}", ptx);
        Assert.Contains($".entry {kernel.Name}(", ptx);
        if (kernel is GemmKernel gemm)
            Assert.Contains(gemm.Int8 ? "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32" : "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32", ptx);
    }

    public static TheoryData<string> CatalogNames() => [.. GeneratedKernelCatalog.Cases.Keys];

    /// <summary>The 64-bit index variant of each catalog kernel (one per printer strategy) compiles too, with 64-bit index arithmetic.</summary>
    [Theory]
    [MemberData(nameof(CatalogNames))]
    public void CatalogKernelCompilesWith64BitIndices(string name)
    {
        ClangPtx.RequireCompiler();
        var kernel = GeneratedKernelCatalog.Cases[name].Kernel;
        var narrow = ClangPtx.Compile(kernel.CudaSource, "sm_90", name);
        var wide = ClangPtx.Compile("#define FUSION_INDEX64\n" + kernel.CudaSource, "sm_90", name + "_i64");
        Assert.Contains($".entry {name}(", wide);
        // Index math moves to 64-bit registers: more 64-bit integer instructions than the 32-bit variant has.
        int Count64(string ptx) => System.Text.RegularExpressions.Regex.Matches(ptx, @"\b(mul|add|sub|div|rem|mad)(\.lo|\.wide)?\.[su]64\b").Count;
        Assert.True(Count64(wide) > Count64(narrow), $"{name}: {Count64(wide)} 64-bit integer ops with FUSION_INDEX64, {Count64(narrow)} without");
    }

    /// <summary>Launches switch to 64-bit indices when a buffer or the domain reaches 2³⁰ elements at the run's batch.</summary>
    [Fact]
    public void SixtyFourBitIndicesFromTwoToTheThirtyElements()
    {
        var g = new LoweringGraph();
        var n = Compiler.Dim.Batch();
        int x = g.Input(FloatType.F16, n, Compiler.Dim.Static(1024), Compiler.Dim.Static(1024));
        int y = g.Op(Ops.Relu, [x]);
        var kernel = g.Kernel("relu_index_width", [y], y);
        Assert.False(Generated.GeneratedKernelLauncher.NeedsIndex64(kernel, 1023));
        Assert.True(Generated.GeneratedKernelLauncher.NeedsIndex64(kernel, 1024));
        Assert.True(Generated.GeneratedKernelLauncher.NeedsIndex64(kernel, int.MaxValue));
    }

    /// <summary>The catalog and every generated kernel and GEMM of the model, the quantized plans' included.</summary>
    private static IEnumerable<IKernel> AllKernels() =>
        GeneratedKernelCatalog.Cases.Values.Select(c => (IKernel)c.Kernel).Concat(SwinStage1Blocks.Kernels.Where(k => k is GeneratedKernel or GemmKernel));
}
