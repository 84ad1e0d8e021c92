using Fusion.Runtime.Tests.Compiler;
using Fusion.Compiler;
using Fusion.Cuda.Fused;
using Fusion.Kernels;
using Fusion.Kernels.Cpu.Fused;
using Fusion.Testing;
using CDim = Fusion.Compiler.Dim;

namespace Fusion.Cuda.Tests;

/// <summary>
/// Swin's fused chains on the GPU against the CPU. The pointwise and normalization chains (bias + residual, LayerNorm → roll →
/// window partition, window reverse → roll → residual add) are kernels generated from the loop IR (<see cref="SwinChains"/>,
/// lowered with <see cref="GroupLowering"/> as the generator does) run through <see cref="CudaBackend.Run"/> against
/// <see cref="CpuBackend.Run"/>, which interprets the same IR, with fp16 and fp32 buffers: tolerances
/// <see cref="KernelChecks.Half"/> (2e-3 + 2e-3·|cpu|: both compute in float32 and round once, so they differ by at most about one
/// fp16 ulp, 2⁻¹⁰ relative) and <see cref="KernelChecks.Float"/> (1e-5 + 1e-5·|cpu|: a few float32 ulps from rsqrt.approx and the
/// order of the LayerNorm sums). Window attention, still a template, runs through its launcher against its CPU twin
/// (Fusion.Kernels.Cpu.Fused, float32) on the same fp16 inputs within 4e-3 + 4e-4·|ref|: the kernel computes in fp32 and rounds
/// once to fp16 (half an ulp, ≤ 2e-3 for outputs under 4), and exp2/rcp approximations and summation order add a few float32 ulps.
/// GPU outputs start as NaN, so an element a kernel never writes fails.
/// </summary>
public sealed class FusedKernelTests : GpuTestBase
{
    private const double AttentionAtol = 4e-3, AttentionRtol = 4e-4;
    private readonly FusedKernelModules _modules;
    private readonly CudaBackend _cuda;

    public FusedKernelTests()
    {
        _modules = new FusedKernelModules(Jit);
        _cuda = new CudaBackend(Device, new KernelCache(CacheDirectory));
    }

    public override void Dispose()
    {
        _cuda.Dispose();
        _modules.Dispose();
        base.Dispose();
    }

    /// <summary>A kernel of template <paramref name="pattern"/> specialized the way the generator does it, named after its constants.</summary>
    internal static FusedKernel Specialize(string pattern, params (string Key, int Value)[] constants)
    {
        var dict = constants.ToDictionary(c => c.Key, c => c.Value);
        var name = pattern + string.Concat(constants.Select(c => $"_{c.Key.ToLowerInvariant()}{c.Value}"));
        return new FusedKernel(name, pattern, KernelTemplates.Specialize(pattern, name, dict), dict);
    }

    /// <summary>(C, tokens per image, batch, buffer type): odd channels (30, 36), Swin-T's 96 × 3136 tokens up to batch 64.</summary>
    public static TheoryData<int, int, int, DType> BiasResidualCases() => new()
    {
        { 30, 7, 1, DType.Float16 },
        { 30, 49, 3, DType.Float32 },
        { 36, 49, 3, DType.Float16 },
        { 36, 49, 64, DType.Float32 },
        { 96, 3136, 1, DType.Float32 },
        { 96, 3136, 3, DType.Float16 },
        { 96, 3136, 64, DType.Float16 },
    };

    [Theory]
    [MemberData(nameof(BiasResidualCases))]
    public void GeneratedBiasResidualMatchesTheCpu(int c, int tokens, int batch, DType dtype)
    {
        var kernel = SwinChains.BiasResidual(c, tokens, SwinChains.Type(dtype));
        var inputs = KernelChecks.RandomInputs(kernel, batch, DType.Float32, Rng.Next());
        KernelChecks.GpuMatchesCpu(_cuda, kernel, batch, DType.Float32, inputs, "bias + residual");
        KernelChecks.DisposeAll(inputs);
    }

    /// <summary>
    /// (C, H, W, window, shift, batch): channels not multiples of 8 (30, 36) and Swin-T's 96, windows 7 and 3, shifts 0 and 3 (and 1 for
    /// the 3-window), batches 1, 3 and 64 (Swin-T stage 1 at batch 64 is 19.3 M elements).
    /// </summary>
    private static readonly (int C, int H, int W, int Window, int Shift, int Batch)[] s_geometries =
    [
        (30, 14, 14, 7, 0, 1),
        (30, 14, 21, 7, 3, 3),
        (36, 14, 14, 7, 3, 3),
        (36, 21, 14, 7, 0, 64),
        (30, 9, 6, 3, 1, 3),
        (96, 56, 56, 7, 0, 1),
        (96, 56, 56, 7, 3, 3),
        (96, 56, 56, 7, 3, 64),
    ];

    public static TheoryData<int, int, int, int, int, int, DType> Geometries()
    {
        var data = new TheoryData<int, int, int, int, int, int, DType>();
        foreach (var (c, h, w, window, shift, batch) in s_geometries)
            foreach (var dtype in new[] { DType.Float16, DType.Float32 })
                data.Add(c, h, w, window, shift, batch, dtype);
        return data;
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void GeneratedLayerNormShiftPartitionMatchesTheCpu(int c, int h, int w, int window, int shift, int batch, DType dtype)
    {
        var kernel = SwinChains.LayerNormShiftPartition(c, h, w, window, shift, SwinChains.Type(dtype));
        // An offset mean and spread (x in [−1, 3)) make the two-pass variance matter.
        var inputs = KernelChecks.RandomInputs(kernel, batch, DType.Float32, Rng.Next(), SwinChains.LayerNormRanges);
        KernelChecks.GpuMatchesCpu(_cuda, kernel, batch, DType.Float32, inputs, $"LayerNorm → roll({-shift}) → partition({window})");
        KernelChecks.DisposeAll(inputs);
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void GeneratedWindowReverseResidualMatchesTheCpu(int c, int h, int w, int window, int shift, int batch, DType dtype)
    {
        var kernel = SwinChains.WindowReverseResidual(c, h, w, window, shift, SwinChains.Type(dtype));
        var inputs = KernelChecks.RandomInputs(kernel, batch, DType.Float32, Rng.Next(), (_, b) => b.Shape.Count == 3 ? (-2, 2) : (-1, 1));
        KernelChecks.GpuMatchesCpu(_cuda, kernel, batch, DType.Float32, inputs, $"reverse({window}) → roll({shift}) → + residual");
        KernelChecks.DisposeAll(inputs);
    }

    private static float[] Floats(Half[] values) => Array.ConvertAll(values, h => (float)h);

    /// <summary>The twin's float32 output, widened for <see cref="TestData.AssertClose"/>.</summary>
    private static double[] Twin(long length, Action<float[]> run)
    {
        var output = new float[length];
        run(output);
        return Array.ConvertAll(output, f => (double)f);
    }

    /// <summary>
    /// (heads, head dim, window, windows per image, mask, batch, windows a block or 0 for automatic): heads 5 × dim 6, odd dims, Swin-T
    /// stage 1 (3 × 32, 49 tokens, 64 windows). A block computes one head of several windows (a masked kernel: of several images at
    /// one window position): ranges that do not divide the images (7 in blocks of 3, 5 in 2), more a block than there are, one each.
    /// </summary>
    public static TheoryData<int, int, int, int, bool, int, int> AttentionCases() => new()
    {
        { 5, 6, 3, 4, true, 3, 0 },
        { 5, 6, 3, 4, true, 5, 2 },     // fp32 body, several windows a block
        { 5, 6, 7, 4, false, 1, 0 },
        { 5, 6, 7, 4, false, 3, 5 },    // unmasked: 12 windows in blocks of 5
        { 4, 5, 3, 9, true, 3, 0 },
        { 2, 64, 7, 1, false, 2, 0 },
        { 2, 64, 7, 1, false, 7, 3 },
        { 3, 32, 7, 64, false, 1, 0 },
        { 3, 32, 7, 64, true, 3, 0 },
        { 3, 32, 7, 64, true, 3, 1 },
        { 3, 32, 7, 4, true, 5, 2 },
        { 3, 32, 7, 4, true, 7, 3 },
        { 3, 32, 7, 4, true, 3, 16 },   // more than the images: one block a (position, head)
        { 3, 32, 7, 16, false, 5, 7 },
        { 3, 32, 7, 64, true, 64, 0 },
    };

    /// <summary>
    /// qkv laid out (heads, 3, d) per token, as a projection re-laid out by QkvRelayout writes it; the twin reads the same layout
    /// (FusedTwinTests ties the twin to timm's (3, heads, d) chain). Masked cases pass qkv as [B·nW, N, heads, 3, d], the others flat.
    /// </summary>
    [Theory]
    [MemberData(nameof(AttentionCases))]
    public void WindowAttentionMatchesReference(int heads, int d, int window, int windows, bool masked, int batch, int perBlock)
    {
        int n = window * window, total = batch * windows, width = heads * d;
        Half[] qkv = TestData.RandomHalves(Rng, total * n * 3 * width), bias = TestData.RandomHalves(Rng, heads * n * n, -2, 2);
        // A mask of 0 and −100 like Swin's shifted-window mask, drawn at random so every pattern of rows is exercised.
        var mask = new Half[windows * n * n];
        for (int i = 0; i < mask.Length; i++) mask[i] = Rng.Next(3) == 0 ? (Half)(-100f) : (Half)0f;
        float scale = 1 / MathF.Sqrt(d);
        var kernel = Specialize(WindowAttentionLauncher.Pattern, ("HEADS", heads), ("HEAD_DIM", d), ("TOKENS", n), ("WINDOWS", windows), ("HAS_MASK", masked ? 1 : 0));
        using CudaTensor dqkv = masked ? Upload(qkv, total, n, heads, 3, d) : Upload(qkv, total, n, 3 * width), dbias = Upload(bias, heads, n, n), dmask = Upload(mask, windows, n, n);
        using var dout = CudaTensor.Empty(Device, DType.Float16, total, n, width);
        dout.FillBytes(0xFF);
        new WindowAttentionLauncher(_modules) { WindowsPerBlock = perBlock > 0 ? perBlock : null }.Run(dqkv, dbias, masked ? dmask : null, heads, scale, dout, kernel);

        var expected = Twin(dout.ElementCount, o => WindowAttentionTwin.Run(Floats(qkv), Floats(bias), masked ? Floats(mask) : [], o, total, windows, heads, d, n, scale));
        TestData.AssertClose(Download(dout), expected, AttentionAtol, AttentionRtol, kernel.Name);
    }

    [Fact]
    public void MismatchedOperandsAreNamedAndNothingIsCompiled()
    {
        var wa = Specialize(WindowAttentionLauncher.Pattern, ("HEADS", 5), ("HEAD_DIM", 6), ("TOKENS", 9), ("WINDOWS", 4), ("HAS_MASK", 1));
        using CudaTensor qkv = CudaTensor.Empty(Device, DType.Float16, 8, 9, 90), attnBias = CudaTensor.Empty(Device, DType.Float16, 5, 9, 9);
        using CudaTensor mask = CudaTensor.Empty(Device, DType.Float16, 3, 9, 9);
        Assert.Equal("mask", Assert.Throws<TensorMismatchException>(() => new WindowAttentionLauncher(_modules).Run(qkv, attnBias, mask, 5, 0.4f, wa)).What);
        Assert.Throws<FusionException>(() => new WindowAttentionLauncher(_modules).Run(qkv, attnBias, null, 5, 0.4f, wa));
        using CudaTensor qkvByPart = CudaTensor.Empty(Device, DType.Float16, 8, 9, 3, 5, 6), fourMasks = CudaTensor.Empty(Device, DType.Float16, 4, 9, 9);
        Assert.Equal("qkv", Assert.Throws<TensorMismatchException>(() => new WindowAttentionLauncher(_modules).Run(qkvByPart, attnBias, fourMasks, 5, 0.4f, wa)).What);
        Assert.Equal(0, _modules.Count);

        // Generated kernels: each input against the buffer its IR declares, for the batch and the io type.
        var partition = SwinChains.LayerNormShiftPartition(30, 6, 6, 3, 1, FloatType.F16);
        using CudaTensor image = CudaTensor.Empty(Device, DType.Float16, 2, 6, 6, 30), gamma = CudaTensor.Empty(Device, DType.Float16, 30);
        using CudaTensor wide = CudaTensor.Empty(Device, DType.Float16, 31), floats = CudaTensor.Empty(Device, DType.Float32, 30);
        var e = Assert.Throws<TensorMismatchException>(() => _cuda.Run(partition, 2, DType.Float32, image, wide, gamma));
        Assert.Contains(partition.Name + " input", e.Message);
        Assert.Contains("f16[30]", e.Message);
        Assert.Throws<TensorMismatchException>(() => _cuda.Run(partition, 2, DType.Float32, image, floats, gamma));
        Assert.Throws<TensorMismatchException>(() => _cuda.Run(partition, 3, DType.Float32, image, gamma, gamma)); // [3, 6, 6, 30] expected
        var count = Assert.Throws<FusionException>(() => _cuda.Run(partition, 2, DType.Float32, image, gamma));
        Assert.Contains("takes 3 inputs", count.Message);
        using var host = CpuTensor.Zeros(DType.Float16, 30);
        Assert.Throws<TensorMismatchException>(() => _cuda.Run(partition, 2, DType.Float32, image, host, gamma)); // a host tensor
        Assert.Equal(0, _cuda.Generated.Count);
    }

    [Fact]
    public void KernelsAreCompiledOncePerNameSourceAndIoType()
    {
        var kernel = SwinChains.BiasResidual(12, 5, FloatType.Io);
        Assert.True(kernel.UsesIoType);
        foreach (var io in new[] { DType.Float16, DType.Float32, DType.Float16 })
        {
            var inputs = KernelChecks.RandomInputs(kernel, 2, io, Rng.Next());
            KernelChecks.GpuMatchesCpu(_cuda, kernel, 2, io, inputs, $"io {io.ShortName()}");
            KernelChecks.DisposeAll(inputs);
        }
        Assert.Equal(2, _cuda.Generated.Count); // one module per io type
        // Another model's kernel of the same name and another source (names are unique within a model only) gets a module of its own.
        var namesake = new GeneratedKernel(kernel.Name, kernel.LoopIr, kernel.CudaSource + "\n", kernel.LaunchText);
        var again = KernelChecks.RandomInputs(namesake, 2, DType.Float16, Rng.Next());
        KernelChecks.GpuMatchesCpu(_cuda, namesake, 2, DType.Float16, again, "a namesake of another source");
        KernelChecks.DisposeAll(again);
        Assert.Equal(3, _cuda.Generated.Count);

        var attention = Specialize(WindowAttentionLauncher.Pattern, ("HEADS", 2), ("HEAD_DIM", 4), ("TOKENS", 9), ("WINDOWS", 1), ("HAS_MASK", 0));
        using CudaTensor qkv = Upload(TestData.RandomHalves(Rng, 2 * 9 * 24), 2, 9, 24), attnBias = Upload(TestData.RandomHalves(Rng, 2 * 81), 2, 9, 9);
        var launcher = new WindowAttentionLauncher(_modules);
        using (launcher.Run(qkv, attnBias, null, 2, 0.5f, attention)) { }
        using (launcher.Run(qkv, attnBias, null, 2, 0.5f, attention)) { }
        Assert.Equal(1, _modules.Count);
        var namesakeAttention = attention with { CudaSource = attention.CudaSource + "\n" };
        using (launcher.Run(qkv, attnBias, null, 2, 0.5f, namesakeAttention)) { }
        Assert.Equal(2, _modules.Count);
    }
}

/// <summary>Swin's fused chains on the CPU against their float64 chains: the generated kernels the GPU tests compare with compute what they say.</summary>
public sealed class SwinChainHostTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void ChainsOnTheCpuMatchFloat64(int shift)
    {
        const int c = 13, h = 14, w = 21, window = 7, batch = 2;
        int seed = Fusion.Testing.TestData.NewSeed();
        var x = Fusion.Testing.TestData.Uniform(seed, -1, 3, batch, h, w, c);
        var gamma = Fusion.Testing.TestData.Random(seed + 1, c);
        var beta = Fusion.Testing.TestData.Random(seed + 2, c);
        var windows = Fusion.Testing.TestData.Random(seed + 3, batch * (h / window) * (w / window), window * window, c);
        var bias = Fusion.Testing.TestData.Random(seed + 4, c);

        var partition = SwinChains.LayerNormShiftPartition(c, h, w, window, shift, FloatType.F32);
        var expected = Ref.WindowPartition(Ref.Roll(Ref.LayerNorm(x, gamma, beta, 1e-5), -shift, 1, 2), window);
        Check(partition, batch, [x, gamma, beta], expected, $"LayerNorm partition s{shift} (seed {seed})");

        var reverse = SwinChains.WindowReverseResidual(c, h, w, window, shift, FloatType.F32);
        expected = Ref.Add(x, Ref.Roll(Ref.WindowReverse(windows, window, h, w), shift, 1, 2));
        Check(reverse, batch, [x, windows], expected, $"reverse residual s{shift} (seed {seed})");

        var biasResidual = SwinChains.BiasResidual(c, h * w, FloatType.F32);
        var flat = Ref.Reshape(x, batch, h * w, c);
        Check(biasResidual, batch, [flat, bias, flat], Ref.Add(Ref.Add(flat, bias), flat), $"bias residual (seed {seed})");
    }

    /// <summary>The Swin chains have the buffers the tests feed (in IR order) and the strategy each needs: row kernels for the LayerNorm, pointwise for the rest.</summary>
    [Fact]
    public void ChainsHaveTheirBuffersAndStrategies()
    {
        var partition = SwinChains.LayerNormShiftPartition(96, 56, 56, 7, 3, FloatType.F16);
        Assert.Equal(["[N, 56, 56, 96]", "[96]", "[96]", "[64N, 49, 96]"], partition.Ir.Buffers.Select(b => Dims.Text(b.Shape)));
        Assert.Equal("row", CudaKernelPrinter.Print(partition.Ir).Strategy);
        var reverse = SwinChains.WindowReverseResidual(30, 14, 21, 7, 3, FloatType.F32);
        Assert.Equal(["[N, 14, 21, 30]", "[6N, 49, 30]", "[N, 14, 21, 30]"], reverse.Ir.Buffers.Select(b => Dims.Text(b.Shape)));
        Assert.Equal("pointwise", CudaKernelPrinter.Print(reverse.Ir).Strategy);
        Assert.Equal("pointwise", CudaKernelPrinter.Print(SwinChains.BiasResidual(30, 7, FloatType.F16).Ir).Strategy);
    }

    private static void Check(GeneratedKernel kernel, int batch, RefTensor[] inputs, RefTensor expected, string what)
    {
        var hosts = inputs.Select(i => i.ToCpu()).ToArray();
        var outputs = CpuBackend.Instance.Run(kernel, batch, DType.Float32, hosts);
        try
        {
            Fusion.Testing.Tolerance.AssertClose(Assert.Single(outputs), expected, 1e-5, 1e-5, what);
        }
        finally
        {
            KernelChecks.DisposeAll(hosts);
            KernelChecks.DisposeAll(outputs);
        }
    }
}

/// <summary>
/// Swin's fused chains built as a fused group and lowered to one generated kernel each, as the generator does for a model:
/// buffers of one float type <paramref name="type"/> (f16, f32, or the run's io type), the batch N dynamic.
/// </summary>
internal static class SwinChains
{
    private static readonly CDim N = CDim.Batch();

    private static CDim S(long value) => CDim.Static(value);

    public static FloatType Type(DType dtype) => dtype == DType.Float16 ? FloatType.F16 : FloatType.F32;

    private static string Suffix(FloatType type) => type switch { FloatType.F16 => "f16", FloatType.F32 => "f32", _ => "io" };

    /// <summary>x [N, tokens, C] + bias [C] + residual [N, tokens, C].</summary>
    public static GeneratedKernel BiasResidual(int c, int tokens, FloatType type)
    {
        var g = new LoweringGraph();
        int x = g.Input(type, N, S(tokens), S(c));
        int bias = g.Param(type, S(c));
        int residual = g.Input(type, N, S(tokens), S(c));
        int biased = g.Op(Ops.Add, [x, bias]);
        int sum = g.Op(Ops.Add, [biased, residual]);
        return g.Kernel($"bias_residual_{Suffix(type)}_t{tokens}_c{c}", [biased, sum], sum);
    }

    /// <summary>Swin's pre-attention: LayerNorm over C of [N, H, W, C] → roll by −shift over H and W (none when 0) → window partition.</summary>
    public static GeneratedKernel LayerNormShiftPartition(int c, int h, int w, int window, int shift, FloatType type)
    {
        var g = new LoweringGraph();
        int x = g.Input(type, N, S(h), S(w), S(c));
        int gamma = g.Param(type, S(c));
        int beta = g.Param(type, S(c));
        int ln = g.Op(Ops.LayerNorm, [x, gamma, beta], AttributeSet.Of(OpAttribute.Real("eps", 1e-5)));
        var members = new List<int> { ln };
        int v = ln;
        if (shift != 0) members.Add(v = g.Op(Ops.Roll, [v], AttributeSet.Of(OpAttribute.Int("shift", -shift), OpAttribute.IntList("axes", [1, 2]))));
        int partition = g.Op(Ops.WindowPartition, [v], AttributeSet.Of(OpAttribute.Int("window", window)));
        members.Add(partition);
        return g.Kernel($"layer_norm_roll_window_partition_{Suffix(type)}_c{c}_h{h}_w{w}_win{window}_s{shift}", members, partition);
    }

    /// <summary>
    /// Swin's post-attention: residual [N, H, W, C] + (window reverse of [nW·N, window², C] → roll by +shift, none when 0). The residual is
    /// the first input buffer, as in the generator's kernels.
    /// </summary>
    public static GeneratedKernel WindowReverseResidual(int c, int h, int w, int window, int shift, FloatType type)
    {
        var g = new LoweringGraph();
        int windows = h / window * (w / window);
        int attention = g.Input(type, CDim.Batch(windows), S(window * window), S(c));
        int residual = g.Input(type, N, S(h), S(w), S(c));
        int reversed = g.Op(Ops.WindowReverse, [attention],
            AttributeSet.Of(OpAttribute.Int("window", window), OpAttribute.Int("height", h), OpAttribute.Int("width", w)));
        var members = new List<int> { reversed };
        int v = reversed;
        if (shift != 0) members.Add(v = g.Op(Ops.Roll, [v], AttributeSet.Of(OpAttribute.Int("shift", shift), OpAttribute.IntList("axes", [1, 2]))));
        int sum = g.Op(Ops.Add, [residual, v]);
        members.Add(sum);
        return g.Kernel($"window_reverse_roll_add_{Suffix(type)}_c{c}_h{h}_w{w}_win{window}_s{shift}", members, sum);
    }

    /// <summary>LayerNorm inputs: x (rank 4) in [−1, 3) so the mean is offset from 0; weight and bias in [−1, 1).</summary>
    public static (double Low, double High) LayerNormRanges(int index, KernelBuffer buffer) => buffer.Shape.Count == 4 ? (-1, 3) : (-1, 1);
}
