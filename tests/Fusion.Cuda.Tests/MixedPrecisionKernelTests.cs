using Fusion.Testing;
using RefData = Fusion.Testing.TestData;

namespace Fusion.Cuda.Tests;

/// <summary>
/// What the precision pass relies on in the CUDA backend, against the CPU backend on fresh random inputs: the
/// dtype-writing Patchify (a converting gather: exact), Mean and LayerNorm (every combination of float types;
/// 1e-4 + 1e-4 when the result is f32, summation order; 1e-3 + 1e-3 when it is f16, one rounding on store), and the
/// fused operators on f32 operands, which run as their unfused chains (FusedChains) against the CPU twins within
/// 1e-4 + 1e-4 (cuBLASLt f32 compute and the twins sum in different orders; exp through ex2, erf fit 1.2e-7).
/// </summary>
public sealed class MixedPrecisionKernelTests : GpuTestBase
{
    private static readonly CpuBackend Cpu = CpuBackend.Instance;
    private readonly CudaBackend _cuda;

    public MixedPrecisionKernelTests()
    {
        _cuda = new CudaBackend(Device, new KernelCache(CacheDirectory));
    }

    public override void Dispose()
    {
        _cuda.Dispose();
        base.Dispose();
    }

    [Theory]
    [InlineData(DType.Float32, DType.Float16)]
    [InlineData(DType.Float16, DType.Float32)]
    public void Patchify_ConvertsWhileItMoves(DType from, DType to)
    {
        using var x = RefData.Random(RefData.NewSeed(), from, 2, 3, 12, 8).ToCpu(from);
        using var expected = Cpu.Patchify(x, 4, to);
        var actual = Run(t => _cuda.Patchify(t[0], 4, to), x);
        Assert.Equal(to, actual.DType);
        Assert.Equal(((CpuTensor)expected).Bytes.ToArray(), actual.Bytes.ToArray());
        actual.Dispose();
    }

    [Theory]
    [InlineData(DType.Float16, DType.Float32)]
    [InlineData(DType.Float32, DType.Float16)]
    [InlineData(DType.Float16, DType.Float16)]
    [InlineData(DType.Float32, DType.Float32)]
    public void Mean_EveryTypePair(DType from, DType to)
    {
        int seed = RefData.NewSeed();
        var x = RefData.Random(seed, from, 3, 49, 37);
        using var host = x.ToCpu(from);
        using var actual = Run(t => _cuda.Mean(t[0], 1, 1, to), host);
        Assert.Equal(to, actual.DType);
        double tolerance = to == DType.Float16 ? 1e-3 : 1e-4;
        Tolerance.AssertClose(actual, Ref.Mean(x, 1, 1), tolerance, tolerance, $"Mean {from.ShortName()} → {to.ShortName()} (seed {seed})");
    }

    public static TheoryData<DType, DType, DType> LayerNormTypes
    {
        get
        {
            var data = new TheoryData<DType, DType, DType>();
            foreach (var x in new[] { DType.Float32, DType.Float16 })
                foreach (var w in new[] { DType.Float32, DType.Float16 })
                    foreach (var y in new[] { DType.Float32, DType.Float16 }) data.Add(x, w, y);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(LayerNormTypes))]
    public void LayerNorm_EveryTypeCombination(DType xType, DType weightType, DType outType)
    {
        int seed = RefData.NewSeed();
        var x = RefData.Random(seed, xType, 7, 5, 45);
        var w = RefData.Random(seed + 1, weightType, 45);
        var b = RefData.Random(seed + 2, weightType, 45);
        using var xs = x.ToCpu(xType);
        using var ws = w.ToCpu(weightType);
        using var bs = b.ToCpu(weightType);
        using var actual = Run(t => _cuda.LayerNorm(t[0], t[1], t[2], 1e-5f, outType), xs, ws, bs);
        Assert.Equal(outType, actual.DType);
        double tolerance = outType == DType.Float16 ? 1e-3 : 1e-4;
        Tolerance.AssertClose(actual, Ref.LayerNorm(x, w, b, 1e-5), tolerance, tolerance, $"LayerNorm {xType.ShortName()}/{weightType.ShortName()} → {outType.ShortName()} (seed {seed})");
    }

    [Theory]
    [InlineData(Activation.Gelu, true)]
    [InlineData(Activation.Relu, false)]
    [InlineData(Activation.None, true)]
    public void FusedLinear_OnFloat32_RunsTheChain(Activation activation, bool hasResidual)
    {
        int seed = RefData.NewSeed();
        using var x = RefData.Random(seed, 3, 7, 30).ToCpu();
        using var w = RefData.Random(seed + 1, 36, 30).ToCpu();
        using var b = RefData.Random(seed + 2, 36).ToCpu();
        using var r = RefData.Random(seed + 3, 3, 7, 36).ToCpu();
        var kernel = Kernel("gemm_bias_act");
        using var expected = Cpu.FusedLinear(x, w, b, activation, hasResidual ? r : null, kernel);
        using var actual = Run(t => _cuda.FusedLinear(t[0], t[1], t[2], activation, hasResidual ? t[3] : null, kernel), x, w, b, r);
        AssertClose(expected, actual, $"FusedLinear {activation} f32 (seed {seed})");
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(3, true)]
    public void WindowOperators_OnFloat32_RunTheirChains(int shift, bool masked)
    {
        int seed = RefData.NewSeed();
        int heads = 3, headDim = 8;
        using var image = RefData.Random(seed, 2, 14, 14, 24).ToCpu();
        using var gamma = RefData.Random(seed + 1, 24).ToCpu();
        using var beta = RefData.Random(seed + 2, 24).ToCpu();
        using var qkv = RefData.Random(seed + 3, 8, 49, 3 * heads * headDim).ToCpu();
        using var bias = RefData.Random(seed + 4, heads, 49, 49).ToCpu();
        using var mask = Ref.ShiftedWindowMask(14, 14, 7, 3).ToCpu();
        using var windows = RefData.Random(seed + 5, 8, 49, 24).ToCpu();
        float scale = 1f / MathF.Sqrt(headDim);

        using (var e = Cpu.LayerNormWindowPartition(image, gamma, beta, 1e-5f, 7, shift, Kernel("ln_shift_partition")))
        using (var a = Run(t => _cuda.LayerNormWindowPartition(t[0], t[1], t[2], 1e-5f, 7, shift, Kernel("ln_shift_partition")), image, gamma, beta))
            AssertClose(e, a, $"LayerNormWindowPartition s{shift} f32 (seed {seed})");
        using (var e = Cpu.WindowReverseResidual(windows, image, 7, shift, Kernel("window_reverse_residual")))
        using (var a = Run(t => _cuda.WindowReverseResidual(t[0], t[1], 7, shift, Kernel("window_reverse_residual")), windows, image))
            AssertClose(e, a, $"WindowReverseResidual s{shift} f32 (seed {seed})");
        using (var e = Cpu.WindowAttention(qkv, bias, masked ? mask : null, heads, scale, Kernel("window_attention")))
        using (var a = Run(t => _cuda.WindowAttention(t[0], t[1], masked ? t[2] : null, heads, scale, Kernel("window_attention")), qkv, bias, mask))
            AssertClose(e, a, $"WindowAttention mask={masked} f32 (seed {seed})");
        using (var e = Cpu.BiasResidual(windows, gamma, windows, Kernel("bias_residual")))
        using (var a = Run(t => _cuda.BiasResidual(t[0], t[1], t[0], Kernel("bias_residual")), windows, gamma))
            AssertClose(e, a, $"BiasResidual f32 (seed {seed})");
    }

    private static FusedKernel Kernel(string pattern) => new("test", pattern, "", new Dictionary<string, int>());

    /// <summary>Uploads the host tensors, runs <paramref name="op"/> on the device and returns its result on the host.</summary>
    private CpuTensor Run(Func<Tensor[], Tensor> op, params CpuTensor[] hosts)
    {
        var devices = hosts.Select(h => _cuda.FromHost(h)).ToArray();
        try
        {
            using var result = op(devices);
            return _cuda.ToHost(result);
        }
        finally
        {
            foreach (var d in devices) d.Dispose();
        }
    }

    private static void AssertClose(Tensor expected, CpuTensor actual, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        Assert.Equal(expected.DType, actual.DType);
        Tolerance.AssertClose(actual, RefTensor.FromCpu((CpuTensor)expected), 1e-4, 1e-4, what);
    }
}
