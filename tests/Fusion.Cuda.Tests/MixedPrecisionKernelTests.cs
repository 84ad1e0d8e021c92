using Fusion.Runtime.Tests.Compiler;
using Fusion.Compiler;
using Fusion.Testing;
using CDim = Fusion.Compiler.Dim;
using RefData = Fusion.Testing.TestData;

namespace Fusion.Cuda.Tests;

/// <summary>
/// What the precision pass relies on in the CUDA backend, against the CPU backend on fresh random inputs: the
/// dtype-writing Patchify (a converting gather: exact), Mean and LayerNorm (every combination of float types;
/// 1e-4 + 1e-4 when the result is f32, summation order; 1e-3 + 1e-3 when it is f16, one rounding on store), the compiled
/// operators on f32 operands: a float32 GEMM (cuBLASLt, then its epilogue kernel) and window attention (its unfused chain,
/// FusedChains) against the CPU within 1e-4 + 1e-4 (cuBLASLt f32 compute and the CPU sum in different orders; exp through
/// ex2, erf fit 1.2e-7), and a generated kernel reading the io type and writing float32 in both io types.
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

    /// <summary>A float32 GEMM (the template is fp16): cuBLASLt's float32 product, then the epilogue kernel, against the CPU backend's float32 GEMM.</summary>
    [Theory]
    [InlineData(Activation.Gelu, true, true)]
    [InlineData(Activation.Relu, true, false)]
    [InlineData(Activation.None, true, true)]
    [InlineData(Activation.Gelu, false, false)]
    public void Gemm_OnFloat32_RunsCublasLtThenTheEpilogue(Activation activation, bool hasBias, bool hasResidual)
    {
        int seed = RefData.NewSeed();
        using var x = RefData.Random(seed, 21, 30).ToCpu();
        using var w = RefData.Random(seed + 1, 36, 30).ToCpu();
        using var b = RefData.Random(seed + 2, 36).ToCpu();
        using var r = RefData.Random(seed + 3, 21, 36).ToCpu();
        var kernel = GemmKernels.Linear(36, 30, hasBias, activation, hasResidual, DType.Float32);
        CpuTensor[] epilogue = [.. hasBias ? [b] : Array.Empty<CpuTensor>(), .. hasResidual ? [r] : Array.Empty<CpuTensor>()];
        KernelChecks.GemmMatchesCpu(_cuda, kernel, 21, DType.Float32, x, w, epilogue, KernelChecks.FloatGemm, $"Gemm {kernel.Name} f32 (seed {seed})");
        Assert.Null(_cuda.Gemms.LastPath); // the fp16 launcher never ran
    }

    /// <summary>
    /// A generated kernel that reads the run's io type and writes float32 (the head of a model run in either precision: LayerNorm →
    /// roll → window partition from an io image with float32 weights), in both io types, against the CPU backend (1e-5 + 1e-5, see
    /// <see cref="KernelChecks.Float"/>).
    /// </summary>
    [Theory]
    [InlineData(DType.Float16, 0)]
    [InlineData(DType.Float32, 3)]
    [InlineData(DType.Float16, 3)]
    public void GeneratedKernel_ReadsTheIoTypeAndWritesFloat32(DType io, int shift)
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.Io, CDim.Batch(), CDim.Static(14), CDim.Static(14), CDim.Static(24));
        int gamma = g.Param(FloatType.F32, CDim.Static(24));
        int beta = g.Param(FloatType.F32, CDim.Static(24));
        int ln = g.Op(Ops.LayerNorm, [x, gamma, beta], AttributeSet.Of(OpAttribute.Real("eps", 1e-5)), FloatType.F32);
        int roll = g.Op(Ops.Roll, [ln], AttributeSet.Of(OpAttribute.Int("shift", -shift), OpAttribute.IntList("axes", [1, 2])));
        int partition = g.Op(Ops.WindowPartition, [roll], AttributeSet.Of(OpAttribute.Int("window", 7)));
        var kernel = g.Kernel($"cast_layer_norm_roll{shift}_window_partition_f32_c24", [ln, roll, partition], partition);
        Assert.True(kernel.UsesIoType);
        var inputs = KernelChecks.RandomInputs(kernel, 2, io, RefData.NewSeed());
        Assert.Equal(io, inputs[0].DType);
        KernelChecks.GpuMatchesCpu(_cuda, kernel, 2, io, inputs, $"io {io.ShortName()} → f32");
        KernelChecks.DisposeAll(inputs);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WindowAttention_OnFloat32_RunsItsChain(bool masked)
    {
        int seed = RefData.NewSeed();
        int heads = 3, headDim = 8;
        using var qkv = RefData.Random(seed + 3, 8, 49, 3 * heads * headDim).ToCpu();
        using var bias = RefData.Random(seed + 4, heads, 49, 49).ToCpu();
        using var mask = Ref.ShiftedWindowMask(14, 14, 7, 3).ToCpu();
        float scale = 1f / MathF.Sqrt(headDim);
        using var e = Cpu.WindowAttention(qkv, bias, masked ? mask : null, heads, scale, Kernel("window_attention"));
        using var a = Run(t => _cuda.WindowAttention(t[0], t[1], masked ? t[2] : null, heads, scale, Kernel("window_attention")), qkv, bias, mask);
        AssertClose(e, a, $"WindowAttention mask={masked} f32 (seed {seed})");
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
