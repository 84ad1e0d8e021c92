using Fusion.Cuda.Fused;
using Fusion.Kernels;
using Fusion.Kernels.Cpu.Fused;

namespace Fusion.Cuda.Tests;

/// <summary>
/// The fused-kernel templates, specialized with <see cref="KernelTemplates.Specialize"/> and run through their
/// launchers, against their CPU twins (Fusion.Kernels.Cpu.Fused, float32) run on the same fp16 inputs.
/// Tolerance |gpu − ref| ≤ 4e-3 + 4e-4·|ref|: the kernels compute in fp32 and round once to fp16, which
/// is at most half an fp16 ulp, 2⁻¹¹·|ref| ≤ 4.9e-4·|ref|; every output here stays under 4 in magnitude,
/// so that half ulp (≤ 2e-3) fits inside the absolute term, which also covers fp32 summation order and the
/// hardware rsqrt/exp2 approximations (about 2 fp32 ulp each) against the twin's float32. Outputs are poisoned with NaN first,
/// so an element the kernel never writes fails.
/// </summary>
public sealed class FusedKernelTests : GpuTestBase
{
    private const double Atol = 4e-3, Rtol = 4e-4;
    private readonly FusedKernelModules _modules;

    public FusedKernelTests()
    {
        _modules = new FusedKernelModules(Jit);
    }

    public override void Dispose()
    {
        _modules.Dispose();
        base.Dispose();
    }

    /// <summary>A kernel of <paramref name="pattern"/> specialized the way the generator does it, named after its constants.</summary>
    internal static FusedKernel Specialize(string pattern, params (string Key, int Value)[] constants)
    {
        var dict = constants.ToDictionary(c => c.Key, c => c.Value);
        var name = pattern + string.Concat(constants.Select(c => $"_{c.Key.ToLowerInvariant()}{c.Value}"));
        return new FusedKernel(name, pattern, KernelTemplates.Specialize(pattern, name, dict), dict);
    }

    private static float[] Floats(Half[] values) => Array.ConvertAll(values, h => (float)h);

    /// <summary>The twin's float32 output, widened for <see cref="TestData.AssertClose"/>.</summary>
    private static double[] Twin(long length, Action<float[]> run)
    {
        var output = new float[length];
        run(output);
        return Array.ConvertAll(output, f => (double)f);
    }

    [Theory]
    [InlineData(96, 1)]
    [InlineData(96, 3 * 3136)]
    [InlineData(96, 64 * 3136)] // Swin-T stage 1, batch 64
    [InlineData(30, 7)]
    [InlineData(36, 3 * 49)]
    [InlineData(31, 1001)]
    [InlineData(6, 1)]
    public void BiasResidualMatchesReference(int c, int rows)
    {
        Half[] x = TestData.RandomHalves(Rng, rows * c, -2, 2), r = TestData.RandomHalves(Rng, rows * c), b = TestData.RandomHalves(Rng, c);
        var kernel = Specialize(BiasResidualLauncher.Pattern, ("C", c));
        using CudaTensor dx = Upload(x, rows, c), dr = Upload(r, rows, c), db = Upload(b, c), dout = CudaTensor.Empty(Device, DType.Float16, rows, c);
        dout.FillBytes(0xFF);
        new BiasResidualLauncher(_modules).Run(dx, db, dr, dout, kernel);
        var expected = Twin(rows * c, o => BiasResidualTwin.Run(Floats(x), Floats(b), Floats(r), o, rows, c));
        TestData.AssertClose(Download(dout), expected, Atol, Rtol, kernel.Name);
    }

    /// <summary>(C, H, W, window, shift, batch): channels not multiples of 8 (and odd), windows 3 and 7, shifts 0 and > 0, Swin-T stage 1.</summary>
    public static TheoryData<int, int, int, int, int, int> Geometries() => new()
    {
        { 30, 6, 6, 3, 0, 1 },
        { 30, 6, 9, 3, 1, 3 },
        { 36, 14, 14, 7, 3, 3 },
        { 31, 9, 6, 3, 2, 3 },
        { 6, 3, 3, 3, 1, 1 },
        { 384, 14, 14, 7, 3, 3 },
        { 96, 56, 56, 7, 0, 1 },
        { 96, 56, 56, 7, 3, 64 },
    };

    [Theory]
    [MemberData(nameof(Geometries))]
    public void LayerNormShiftPartitionMatchesReference(int c, int h, int w, int window, int shift, int batch)
    {
        // An offset mean and spread make the two-pass variance matter.
        Half[] x = TestData.RandomHalves(Rng, batch * h * w * c, -1, 3), gamma = TestData.RandomHalves(Rng, c, 0.5f, 1.5f), beta = TestData.RandomHalves(Rng, c, -0.5f, 0.5f);
        const float eps = 1e-5f;
        var kernel = Specialize(LayerNormPartitionLauncher.Pattern, ("C", c), ("H", h), ("W", w), ("WINDOW", window), ("SHIFT", shift));
        int windows = h / window * (w / window), tokens = window * window;
        using CudaTensor dx = Upload(x, batch, h, w, c), dg = Upload(gamma, c), db = Upload(beta, c);
        using var dout = CudaTensor.Empty(Device, DType.Float16, batch * windows, tokens, c);
        dout.FillBytes(0xFF);
        new LayerNormPartitionLauncher(_modules).Run(dx, dg, db, eps, window, shift, dout, kernel);

        var expected = Twin(dout.ElementCount, o => LayerNormPartitionTwin.Run(Floats(x), Floats(gamma), Floats(beta), o, batch, h, w, c, window, shift, eps));
        TestData.AssertClose(Download(dout), expected, Atol, Rtol, kernel.Name);
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void WindowReverseResidualMatchesReference(int c, int h, int w, int window, int shift, int batch)
    {
        int windows = h / window * (w / window), tokens = window * window;
        Half[] x = TestData.RandomHalves(Rng, batch * h * w * c, -2, 2), r = TestData.RandomHalves(Rng, batch * h * w * c);
        var kernel = Specialize(WindowReverseResidualLauncher.Pattern, ("C", c), ("H", h), ("W", w), ("WINDOW", window), ("SHIFT", shift));
        using CudaTensor dx = Upload(x, batch * windows, tokens, c), dr = Upload(r, batch, h, w, c);
        using var dout = CudaTensor.Empty(Device, DType.Float16, batch, h, w, c);
        dout.FillBytes(0xFF);
        new WindowReverseResidualLauncher(_modules).Run(dx, dr, window, shift, dout, kernel);

        var expected = Twin(dout.ElementCount, o => WindowReverseResidualTwin.Run(Floats(x), Floats(r), o, batch, h, w, c, window, shift));
        TestData.AssertClose(Download(dout), expected, Atol, Rtol, kernel.Name);
    }

    /// <summary>(heads, head dim, window, windows per image, mask, batch): heads 5 × dim 6, odd dims, Swin-T stage 1 (3 × 32, 49 tokens, 64 windows).</summary>
    public static TheoryData<int, int, int, int, bool, int> AttentionCases() => new()
    {
        { 5, 6, 3, 4, true, 3 },
        { 5, 6, 7, 4, false, 1 },
        { 4, 5, 3, 9, true, 3 },
        { 2, 64, 7, 1, false, 2 },
        { 3, 32, 7, 64, false, 1 },
        { 3, 32, 7, 64, true, 3 },
        { 3, 32, 7, 64, true, 64 },
    };

    /// <summary>
    /// qkv laid out (heads, 3, d) per token, as a projection re-laid out by QkvRelayout writes it; the twin reads the same layout
    /// (FusedTwinTests ties the twin to timm's (3, heads, d) chain). Masked cases pass qkv as [B·nW, N, heads, 3, d], the others flat.
    /// </summary>
    [Theory]
    [MemberData(nameof(AttentionCases))]
    public void WindowAttentionMatchesReference(int heads, int d, int window, int windows, bool masked, int batch)
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
        new WindowAttentionLauncher(_modules).Run(dqkv, dbias, masked ? dmask : null, heads, scale, dout, kernel);

        var expected = Twin(dout.ElementCount, o => WindowAttentionTwin.Run(Floats(qkv), Floats(bias), masked ? Floats(mask) : [], o, total, windows, heads, d, n, scale));
        TestData.AssertClose(Download(dout), expected, Atol, Rtol, kernel.Name);
    }

    [Fact]
    public void LaunchersNameTheMismatchedOperand()
    {
        var br = Specialize(BiasResidualLauncher.Pattern, ("C", 30));
        using CudaTensor x = CudaTensor.Empty(Device, DType.Float16, 4, 30), bias = CudaTensor.Empty(Device, DType.Float16, 31);
        Assert.Equal("bias", Assert.Throws<TensorMismatchException>(() => new BiasResidualLauncher(_modules).Run(x, bias, x, x, br)).What);

        var ln = Specialize(LayerNormPartitionLauncher.Pattern, ("C", 30), ("H", 6), ("W", 6), ("WINDOW", 3), ("SHIFT", 1));
        using CudaTensor image = CudaTensor.Empty(Device, DType.Float16, 2, 6, 6, 30), gamma = CudaTensor.Empty(Device, DType.Float16, 30);
        using CudaTensor wrongOut = CudaTensor.Empty(Device, DType.Float16, 8, 9, 31);
        Assert.Equal("output", Assert.Throws<TensorMismatchException>(() => new LayerNormPartitionLauncher(_modules).Run(image, gamma, gamma, 1e-5f, 3, 1, wrongOut, ln)).What);
        var e = Assert.Throws<FusionException>(() => new LayerNormPartitionLauncher(_modules).Run(image, gamma, gamma, 1e-5f, 3, 0, ln));
        Assert.Contains("SHIFT", e.Message);

        var wa = Specialize(WindowAttentionLauncher.Pattern, ("HEADS", 5), ("HEAD_DIM", 6), ("TOKENS", 9), ("WINDOWS", 4), ("HAS_MASK", 1));
        using CudaTensor qkv = CudaTensor.Empty(Device, DType.Float16, 8, 9, 90), attnBias = CudaTensor.Empty(Device, DType.Float16, 5, 9, 9);
        using CudaTensor mask = CudaTensor.Empty(Device, DType.Float16, 3, 9, 9);
        Assert.Equal("mask", Assert.Throws<TensorMismatchException>(() => new WindowAttentionLauncher(_modules).Run(qkv, attnBias, mask, 5, 0.4f, wa)).What);
        Assert.Throws<FusionException>(() => new WindowAttentionLauncher(_modules).Run(qkv, attnBias, null, 5, 0.4f, wa));
        using CudaTensor qkvByPart = CudaTensor.Empty(Device, DType.Float16, 8, 9, 3, 5, 6), fourMasks = CudaTensor.Empty(Device, DType.Float16, 4, 9, 9);
        Assert.Equal("qkv", Assert.Throws<TensorMismatchException>(() => new WindowAttentionLauncher(_modules).Run(qkvByPart, attnBias, fourMasks, 5, 0.4f, wa)).What);
        var wr = Specialize(WindowReverseResidualLauncher.Pattern, ("C", 30), ("H", 6), ("W", 6), ("WINDOW", 3), ("SHIFT", 1));
        Assert.Equal("x", Assert.Throws<TensorMismatchException>(() => new WindowReverseResidualLauncher(_modules).Run(image, image, 3, 1, wr)).What);
        Assert.Throws<FusionException>(() => new WindowReverseResidualLauncher(_modules).Run(image, image, 3, 1, ln));
        Assert.Equal(0, _modules.Count); // nothing was compiled for rejected calls
    }

    [Fact]
    public void KernelsAreCompiledOncePerName()
    {
        var kernel = Specialize(BiasResidualLauncher.Pattern, ("C", 12));
        using CudaTensor x = Upload(TestData.RandomHalves(Rng, 24), 2, 12), b = Upload(TestData.RandomHalves(Rng, 12), 12);
        var launcher = new BiasResidualLauncher(_modules);
        using (launcher.Run(x, b, x, kernel)) { }
        using (launcher.Run(x, b, x, kernel)) { }
        Assert.Equal(1, _modules.Count);
        var renamedSource = kernel with { CudaSource = kernel.CudaSource + "\n" };
        Assert.Throws<FusionException>(() => launcher.Run(x, b, x, renamedSource));
    }
}
