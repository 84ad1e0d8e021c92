using FloatType = Fusion.Compiler.FloatType;
using Fusion.Cuda.Fused;
using Fusion.Cuda.Gemm;
using Fusion.Cuda.Generated;
using Fusion.Devices;
using Fusion.Testing;
using RefData = Fusion.Testing.TestData;

namespace Fusion.Cuda.Tests;

/// <summary>
/// Every operator of <see cref="CudaBackend"/> against the float64 reference on fresh random inputs of odd sizes.
/// Tolerances, |gpu − ref| ≤ atol + rtol·|ref|: f16 1e-3 + 1e-3 (one rounding on store is half an f16 ulp, 2⁻¹¹;
/// products over K ≤ 40 add f32 accumulation error far below that); f32 elementwise 1e-5 + 1e-5 (GELU's erf fit
/// is good to 1.2e-7 and exp uses the hardware ex2, about 2 ulp); f32 products, LayerNorm and Softmax 1e-4 + 1e-4
/// (summation order over K or C). Pure data movement must be exact.
/// </summary>
public sealed class CudaBackendTests : GpuTestBase
{
    private readonly CudaBackend _cuda;

    public CudaBackendTests()
    {
        _cuda = new CudaBackend(Device, new KernelCache(CacheDirectory));
    }

    public static TheoryData<DType> DTypes => [DType.Float32, DType.Float16];

    public override void Dispose()
    {
        _cuda.Dispose();
        base.Dispose();
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void LinearAndMatMulMatchTheReference(DType dtype)
    {
        int seed = RefData.NewSeed();
        var x = Input(seed, dtype, 3, 5, 37);
        var w = Input(seed + 1, dtype, 29, 37);
        var b = Input(seed + 2, dtype, 29);
        Check(dtype, Ref.Linear(x, w, b), 1e-4, "Linear+bias", t => _cuda.Linear(t[0], t[1], t[2]), x, w, b);
        Check(dtype, Ref.Linear(x, w, null), 1e-4, "Linear", t => _cuda.Linear(t[0], t[1], null), x, w);

        var a = Input(seed + 3, dtype, 2, 3, 7, 13);
        var bn = Input(seed + 4, dtype, 2, 3, 13, 11);
        var bt = Input(seed + 5, dtype, 2, 3, 11, 13);
        var shared = Input(seed + 6, dtype, 13, 11);
        var sharedT = Input(seed + 7, dtype, 11, 13);
        Check(dtype, Ref.MatMul(a, bn), 1e-4, "MatMul batched", t => _cuda.MatMul(t[0], t[1], false), a, bn);
        Check(dtype, Ref.MatMul(a, bt, transposeB: true), 1e-4, "MatMul batched Bᵀ", t => _cuda.MatMul(t[0], t[1], true), a, bt);
        Check(dtype, Ref.MatMul(a, shared), 1e-4, "MatMul shared B", t => _cuda.MatMul(t[0], t[1], false), a, shared);
        Check(dtype, Ref.MatMul(a, sharedT, transposeB: true), 1e-4, "MatMul shared Bᵀ", t => _cuda.MatMul(t[0], t[1], true), a, sharedT);
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void ElementwiseOperatorsMatchTheReference(DType dtype)
    {
        int seed = RefData.NewSeed();
        var x = RefData.Uniform(seed, -4, 4, 3, 7, 45).RoundedTo(dtype);
        Check(dtype, Ref.Gelu(x), 1e-5, "Gelu", t => _cuda.Gelu(t[0]), x);
        Check(dtype, Ref.Relu(x), 1e-5, "Relu", t => _cuda.Relu(t[0]), x);
        Check(dtype, Ref.Mul(x, 0.37f), 1e-5, "Mul", t => _cuda.Mul(t[0], 0.37f), x);

        var a = Input(seed + 1, dtype, 4, 1, 5, 7);
        var b = Input(seed + 2, dtype, 3, 1, 7);
        var same = Input(seed + 3, dtype, 4, 1, 5, 7);
        var one = Input(seed + 4, dtype, 1);
        Check(dtype, Ref.Add(a, b), 1e-5, "Add broadcast", t => _cuda.Add(t[0], t[1]), a, b);
        Check(dtype, Ref.Add(b, a), 1e-5, "Add broadcast (b first)", t => _cuda.Add(t[0], t[1]), b, a);
        Check(dtype, Ref.Add(a, same), 1e-5, "Add same shape", t => _cuda.Add(t[0], t[1]), a, same);
        Check(dtype, Ref.Add(a, one), 1e-5, "Add [1]", t => _cuda.Add(t[0], t[1]), a, one);
    }

    [Fact]
    public void CastConvertsBothWays()
    {
        int seed = RefData.NewSeed();
        var x = RefData.Random(seed, 5, 33);
        Check(DType.Float32, x.RoundedTo(DType.Float16), 0, "Cast f32→f16", t => Checked(_cuda.Cast(t[0], DType.Float16), DType.Float16), x);
        var h = x.RoundedTo(DType.Float16);
        Check(DType.Float16, h, 0, "Cast f16→f32", t => Checked(_cuda.Cast(t[0], DType.Float32), DType.Float32), h);
        Check(DType.Float16, h, 0, "Cast f16→f16", t => Checked(_cuda.Cast(t[0], DType.Float16), DType.Float16), h);
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void RowOperatorsMatchTheReference(DType dtype)
    {
        int seed = RefData.NewSeed();
        var x = Input(seed, dtype, 5, 7, 93);
        var w = Input(seed + 1, dtype, 93);
        var b = Input(seed + 2, dtype, 93);
        Check(dtype, Ref.LayerNorm(x, w, b, 1e-5), 1e-4, "LayerNorm", t => _cuda.LayerNorm(t[0], t[1], t[2], 1e-5f), x, w, b);
        var narrow = Input(seed + 3, dtype, 11, 5);
        var nw = Input(seed + 4, dtype, 5);
        var nb = Input(seed + 5, dtype, 5);
        Check(dtype, Ref.LayerNorm(narrow, nw, nb, 1e-5), 1e-4, "LayerNorm C=5", t => _cuda.LayerNorm(t[0], t[1], t[2], 1e-5f), narrow, nw, nb);
        var logits = RefData.Uniform(seed + 6, -8, 8, 6, 77).RoundedTo(dtype);
        Check(dtype, Ref.Softmax(logits), 1e-4, "Softmax", t => _cuda.Softmax(t[0]), logits);
        Check(dtype, Ref.Softmax(narrow), 1e-4, "Softmax N=5", t => _cuda.Softmax(t[0]), narrow);
        var m = Input(seed + 7, dtype, 3, 4, 5, 6);
        Check(dtype, Ref.Mean(m, 1, 2), 1e-4, "Mean axes 1..2", t => _cuda.Mean(t[0], 1, 2), m);
        Check(dtype, Ref.Mean(m, 0, 4), 1e-4, "Mean all", t => _cuda.Mean(t[0], 0, 4), m);
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void LayoutOperatorsMoveElementsExactly(DType dtype)
    {
        int seed = RefData.NewSeed();
        var x = Input(seed, dtype, 2, 3, 4, 5, 6);
        Check(dtype, Ref.Permute(x, 3, 0, 4, 1, 2), 0, "Permute", t => _cuda.Permute(t[0], [3, 0, 4, 1, 2]), x);
        Check(dtype, Ref.Permute(x, 0, 1, 2, 4, 3), 0, "Permute last two", t => _cuda.Permute(t[0], [0, 1, 2, -1, 3]), x);
        Check(dtype, Ref.Select(x, 1, 2), 0, "Select", t => _cuda.Select(t[0], 1, 2), x);
        Check(dtype, Ref.Select(x, 4, 5), 0, "Select last", t => _cuda.Select(t[0], -1, 5), x);
        var image = Input(seed + 1, dtype, 2, 14, 21, 5);
        Check(dtype, Ref.Roll(image, -3, 1, 2), 0, "Roll −3", t => _cuda.Roll(t[0], -3, [1, 2]), image);
        Check(dtype, Ref.Roll(image, 4, 1, 2), 0, "Roll 4", t => _cuda.Roll(t[0], 4, [1, 2]), image);
        var windows = Ref.WindowPartition(image, 7);
        Check(dtype, windows, 0, "WindowPartition", t => _cuda.WindowPartition(t[0], 7), image);
        Check(dtype, Ref.WindowReverse(windows, 7, 14, 21), 0, "WindowReverse", t => _cuda.WindowReverse(t[0], 7, 14, 21), windows);
        var even = Input(seed + 2, dtype, 2, 6, 10, 3);
        Check(dtype, Ref.PatchMerging(even), 0, "PatchMerging", t => _cuda.PatchMerging(t[0]), even);
        var chw = Input(seed + 3, dtype, 2, 3, 12, 8);
        Check(dtype, Ref.Patchify(chw, 4), 0, "Patchify", t => _cuda.Patchify(t[0], 4), chw);
        var table = Input(seed + 4, dtype, 25, 3);
        Check(dtype, Ref.RelativePositionBias(table, 3), 0, "RelativePositionBias", t => _cuda.RelativePositionBias(t[0], 3), table);
        var qkvWeight = Input(seed + 5, dtype, 45, 7);
        var qkvBias = Input(seed + 6, dtype, 45);
        Check(dtype, Ref.QkvRelayout(qkvWeight, 3), 0, "QkvRelayout weight", t => _cuda.QkvRelayout(t[0], 3), qkvWeight);
        Check(dtype, Ref.QkvRelayout(qkvBias, 3), 0, "QkvRelayout bias", t => _cuda.QkvRelayout(t[0], 3), qkvBias);
        Check(dtype, Ref.ShiftedWindowMask(12, 9, 3, 1), 0, "ShiftedWindowMask", _ => _cuda.ShiftedWindowMask(12, 9, 3, 1, dtype));
        Check(dtype, Ref.Reshape(x, 6, 20, 6), 0, "Reshape", t => _cuda.Reshape(t[0], new Shape(6, 20, 6)), x);
    }

    /// <summary>
    /// The compiled operators a generated plan calls, against the float64 reference of the chains they replace: a GEMM with its
    /// generated epilogue (fast-run picks the template or cuBLASLt: 2e-3 covers one fp16 rounding, and on cuBLASLt a second one and its
    /// tanh-form GELU, within 4.7e-4 of erf), a generated bias + residual kernel (one rounding), and the window-attention template.
    /// </summary>
    [Fact]
    public void CompiledOperatorsMatchTheReference()
    {
        int seed = RefData.NewSeed();
        var dtype = DType.Float16;
        var x = Input(seed, dtype, 15, 40);
        var w = Input(seed + 1, dtype, 24, 40);
        var b = Input(seed + 2, dtype, 24);
        var r = Input(seed + 3, dtype, 15, 24);
        var gemm = GemmKernels.Linear(24, 40, bias: true, Activation.Gelu, residual: true);
        Check(dtype, Ref.Add(Ref.Gelu(Ref.Linear(x, w, b)), r), 2e-3, "Gemm", t => Single(_cuda.Gemm(gemm, 15, dtype, t[0], t[1], t[2], t[3])), x, w, b, r);
        var bias = Input(seed + 4, dtype, 24);
        var images = Ref.Reshape(r, 3, 5, 24);
        var add = SwinChains.BiasResidual(24, 5, FloatType.F16);
        Check(dtype, Ref.Add(Ref.Add(images, bias), images), 1e-3, "generated bias + residual", t => Single(_cuda.Run(add, 3, dtype, t[0], t[1], t[0])), images, bias);

        // Window attention from a projection whose weight and bias went through QkvRelayout, against timm's chain on the
        // original (3, heads, d) projection: 2 heads of 4, 9 tokens, 6 windows. Weights in ±0.25 keep q·k O(1); 4e-3 covers
        // the f16 rounding of qkv (≤ 2.5e-4 relative) carried through the scores and softmax.
        const int heads = 2, d = 4, tokens = 9, channels = heads * d;
        var tokensIn = Input(seed + 5, dtype, 6, tokens, channels);
        var qkvWeight = RefData.Uniform(seed + 6, -0.25, 0.25, 3 * channels, channels).RoundedTo(dtype);
        var qkvBias = RefData.Uniform(seed + 7, -0.25, 0.25, 3 * channels).RoundedTo(dtype);
        var attnBias = Input(seed + 8, dtype, heads, tokens, tokens);
        var attention = FusedKernelTests.Specialize(WindowAttentionLauncher.Pattern, ("HEADS", heads), ("HEAD_DIM", d), ("TOKENS", tokens), ("WINDOWS", 1), ("HAS_MASK", 0));
        Check(dtype, Ref.WindowAttention(Ref.Linear(tokensIn, qkvWeight, qkvBias), attnBias, null, heads, 0.5), 4e-3, "WindowAttention", t =>
        {
            using var relaidWeight = _cuda.QkvRelayout(t[1], heads);
            using var relaidBias = _cuda.QkvRelayout(t[2], heads);
            using var qkv = _cuda.Linear(t[0], relaidWeight, relaidBias);
            return _cuda.WindowAttention(qkv, t[3], null, heads, 0.5f, attention);
        }, tokensIn, qkvWeight, qkvBias, attnBias);
    }

    /// <summary>
    /// Precompile puts every variant a first pass loads into the kernel cache: a GEMM's template once per io type (its epilogue writes
    /// the io type), a generated kernel with io buffers once per io type, one without once. A fresh JIT on the cache then only hits.
    /// </summary>
    [Fact]
    public void PrecompileFillsTheCacheWithEveryVariantAFirstPassLoads()
    {
        using var backend = new CudaBackend(Device, new KernelCache(CacheDirectory), GemmPolicy.Generated);
        var gemm = CustomGemms.ResidualCastToIo(96, 96).Kernel;
        var io = GeneratedKernelCatalog.Cases["concat_pad_gelu_io"].Kernel;
        var plain = SwinChains.BiasResidual(30, 7, FloatType.F16);
        backend.Precompile([gemm, io, plain]);
        var variants = backend.Gemms.Sources(gemm).Concat(GeneratedKernelLauncher.Variants(io)).Concat(GeneratedKernelLauncher.Variants(plain)).ToList();
        Assert.Equal(5, variants.Count);
        var jit = new KernelJit(Device, new KernelCache(CacheDirectory));
        foreach (var (name, source, options) in variants)
        {
            jit.Load(name, source, options).Dispose();
            Assert.True(jit.LastOutcome == KernelCacheOutcome.Hit, $"{name} {string.Join(' ', options)}: {jit.LastOutcome}");
        }
    }

    [Fact]
    public void OperandErrorsMatchTheCpuBackend()
    {
        AssertSameError(["f32[2, 96]", "f32[384, 95]"], (be, t) => be.Linear(t[0], t[1], null));
        AssertSameError(["f32[2, 96]", "f16[384, 96]"], (be, t) => be.Linear(t[0], t[1], null));
        AssertSameError(["f32[2, 96]", "f32[384, 96]", "f32[383]"], (be, t) => be.Linear(t[0], t[1], t[2]));
        AssertSameError(["f32[2, 3, 5, 8]", "f32[2, 3, 7, 4]"], (be, t) => be.MatMul(t[0], t[1], false));
        AssertSameError(["f32[2, 3, 5, 8]", "f32[3, 3, 4, 8]"], (be, t) => be.MatMul(t[0], t[1], true));
        AssertSameError(["f32[4, 5]", "f32[3, 5]"], (be, t) => be.Add(t[0], t[1]));
        AssertSameError(["f32[4, 5]", "f16[4, 5]"], (be, t) => be.Add(t[0], t[1]));
        AssertSameError(["f32[3, 8]", "f32[9]", "f32[8]"], (be, t) => be.LayerNorm(t[0], t[1], t[2], 1e-5f));
        AssertSameError(["f32[1, 14, 15, 4]"], (be, t) => be.WindowPartition(t[0], 7));
        AssertSameError(["f32[1, 14, 15, 4]"], (be, t) => be.PatchMerging(t[0]));
        AssertSameError(["f32[1, 14, 15, 4]"], (be, t) => be.Permute(t[0], [0, 1, 1, 3]));
        AssertSameError(["f32[1, 14, 15, 4]"], (be, t) => be.Select(t[0], 2, 15));
        AssertSameError(["f32[1, 14, 15, 4]"], (be, t) => be.Reshape(t[0], new Shape(7, 7)));
        AssertSameError(["f32[1, 14, 15, 4]"], (be, t) => be.Mean(t[0], 3, 2));
        AssertSameError(["f32[1, 14, 15, 4]"], (be, t) => be.Roll(t[0], 1, [4]));
        AssertSameError(["f32[3, 49, 4]"], (be, t) => be.WindowReverse(t[0], 7, 14, 14));
        AssertSameError(["f32[168, 3]"], (be, t) => be.RelativePositionBias(t[0], 7));
        AssertSameError(["f32[91, 30]"], (be, t) => be.QkvRelayout(t[0], 5));
        AssertSameError(["f32[90, 3, 10]"], (be, t) => be.QkvRelayout(t[0], 5));
        AssertSameError(["i32[4]"], (be, t) => be.Relu(t[0]));
        AssertSameError(["f32[4]"], (be, t) => be.Cast(t[0], DType.Int8));

        using var host = CpuTensor.Zeros(DType.Float32, 4);
        var e = Assert.Throws<TensorMismatchException>(() => _cuda.Relu(host).Dispose());
        Assert.Equal("Relu x: expected a cuda:0 tensor, got Cpu f32[4]", e.Message);
        using var device = (CudaTensor)_cuda.FromHost(host);
        e = Assert.Throws<TensorMismatchException>(() => CpuBackend.Instance.Relu(device).Dispose());
        Assert.Equal("Relu x: expected a cpu tensor, got Cuda f32[4]", e.Message);
    }

    [Fact]
    public void ReshapeViewsShareMemoryAndFreeItOnce()
    {
        int start = Device.Allocator.LiveAllocations;
        long tensors = CudaTensor.LiveCount;
        var x = RefData.Random(RefData.NewSeed(), 4, 6, 5);
        using (var host = x.ToCpu())
        {
            // Source disposed first: the view keeps the block alive.
            var source = (CudaTensor)_cuda.FromHost(host);
            var view = (CudaTensor)_cuda.Reshape(source, new Shape(24, 5));
            Assert.Equal(source.Pointer, view.Pointer);
            Assert.Equal(start + 1, Device.Allocator.LiveAllocations);
            source.Dispose();
            Assert.Equal(start + 1, Device.Allocator.LiveAllocations);
            using (var back = view.ToHost()) Tolerance.AssertClose(back, Ref.Reshape(x, 24, 5), 0, 0, "view after its source died");
            var viewOfView = (CudaTensor)_cuda.Reshape(view, new Shape(120));
            view.Dispose();
            view.Dispose();
            Assert.Equal(start + 1, Device.Allocator.LiveAllocations);
            viewOfView.Dispose();
            Assert.Equal(start, Device.Allocator.LiveAllocations);

            // View disposed first, then the source.
            var again = (CudaTensor)_cuda.FromHost(host);
            _cuda.Reshape(again, new Shape(120)).Dispose();
            Assert.Equal(start + 1, Device.Allocator.LiveAllocations);
            using (var back = again.ToHost()) Tolerance.AssertClose(back, x, 0, 0, "source after its view died");
            again.Dispose();
        }
        Assert.Equal(start, Device.Allocator.LiveAllocations);
        Assert.Equal(tensors, CudaTensor.LiveCount);
    }

    [Fact]
    public void EveryOperatorReturnsItsMemory()
    {
        int start = Device.Allocator.LiveAllocations;
        using (var host = RefData.Random(RefData.NewSeed(), 2, 14, 21, 5).ToCpu(DType.Float16))
        using (var x = _cuda.FromHost(host))
        {
            using var windows = _cuda.WindowPartition(x, 7);
            using var rolled = _cuda.Roll(x, 3, [1, 2]);
            using var norm = _cuda.Softmax(rolled);
            using var mean = _cuda.Mean(norm, 1, 2);
        }
        _cuda.Synchronize();
        Assert.Equal(start, Device.Allocator.LiveAllocations);
    }

    [Fact]
    public void ParamCopiesFollowTheParameterVersion()
    {
        var p = new Parameter(7, 5);
        p.InitUniform(new Random(RefData.NewSeed()), 1);
        var f16 = _cuda.Param(p, DType.Float16);
        var f32 = _cuda.Param(p, DType.Float32);
        Assert.Same(f16, _cuda.Param(p, DType.Float16));
        Assert.NotSame(f16, f32);
        AssertHolds(f32, p, DType.Float32);
        AssertHolds(f16, p, DType.Float16);
        int live = Device.Allocator.LiveAllocations;
        var values = new float[35];
        for (int i = 0; i < values.Length; i++) values[i] = i * 0.25f - 3;
        p.Load(values);
        var refreshed = _cuda.Param(p, DType.Float16);
        AssertHolds(refreshed, p, DType.Float16);
        AssertHolds(_cuda.Param(p, DType.Float32), p, DType.Float32);
        Assert.Equal(live, Device.Allocator.LiveAllocations);
        Assert.Throws<TensorMismatchException>(() => _cuda.Param(p, DType.Int8));
    }

    /// <summary>K = 13: the GEMM template reads a zero-padded copy of the fp16 parameter, refreshed with it on a new Version.</summary>
    [Fact]
    public void GemmPadsOddKParametersAndFollowsTheirRefreshes()
    {
        int seed = RefData.NewSeed();
        using var backend = new CudaBackend(Device, new KernelCache(CacheDirectory), GemmPolicy.Generated);
        var p = new Parameter(37, 13);
        p.InitUniform(new Random(seed), 1);
        var xRef = Input(seed + 1, DType.Float16, 15, 13);
        var kernel = GemmKernels.Linear(37, 13, bias: false, Activation.None, residual: false);
        using var xHost = xRef.ToCpu(DType.Float16);
        using var x = backend.FromHost(xHost);
        for (int round = 0; round < 2; round++)
        {
            var w = backend.Param(p, DType.Float16);
            using (var y = Single(backend.Gemm(kernel, 15, DType.Float16, x, w)))
            using (var back = backend.ToHost(y))
                Tolerance.AssertClose(back, Ref.Linear(xRef, RefTensor.FromCpu(p.Value).RoundedTo(DType.Float16), null), 2e-3, 2e-3, $"round {round}");
            Assert.True(backend.Gemms.LastRunPaddedWeight);
            Assert.Equal(1, backend.Gemms.PaddedWeights);
            var values = new float[37 * 13];
            for (int i = 0; i < values.Length; i++) values[i] = (i % 11) * 0.125f - 0.5f;
            p.Load(values); // Version changes: Param refreshes the same device copy in place, and its padded copy with it
        }
    }

    [Fact]
    public void DisposingTheBackendFreesWhatItOwns()
    {
        int start = Device.Allocator.LiveAllocations;
        var backend = new CudaBackend(Device, new KernelCache(CacheDirectory));
        var p = new Parameter(3, 4);
        p.InitUniform(new Random(1), 1);
        backend.Param(p, DType.Float16);
        using (var host = CpuTensor.Zeros(DType.Float32, 3, 5))
        using (var x = backend.FromHost(host))
        using (var y = backend.Gelu(x))
        {
            backend.Synchronize();
        }
        backend.Dispose();
        backend.Dispose();
        Assert.Equal(start, Device.Allocator.LiveAllocations);
    }

    [Fact]
    public void BackendsFactoryFollowsTheDeviceChoice()
    {
        Assert.Same(CpuBackend.Instance, Backends.Create(DevicePreference.Cpu, TextWriter.Null));
        var log = new StringWriter();
        var backend = Backends.Create(DevicePreference.Cuda, log);
        try
        {
            Assert.Equal("cuda:0", backend.Name);
            Assert.Equal(DeviceKind.Cuda, backend.Device);
            Assert.StartsWith("fusion: using cuda: requested by the API option", log.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            ((IDisposable)backend).Dispose();
        }
    }

    private static RefTensor Input(int seed, DType dtype, params int[] shape) => RefData.Random(seed, dtype, shape);

    /// <summary>The one output of a compiled operator.</summary>
    private static Tensor Single(Tensor[] outputs) => Assert.Single(outputs);

    private static Tensor Checked(Tensor t, DType dtype)
    {
        Assert.Equal(dtype, t.DType);
        return t;
    }

    private void AssertHolds(Tensor copy, Parameter p, DType dtype)
    {
        Assert.Equal(dtype, copy.DType);
        using var host = _cuda.ToHost(copy);
        var expected = RefTensor.FromCpu(p.Value).RoundedTo(dtype);
        Tolerance.AssertClose(host, expected, 0, 0, $"Param {dtype.ShortName()}");
    }

    /// <summary>
    /// Uploads the inputs as <paramref name="dtype"/>, runs <paramref name="op"/>, and compares with <paramref name="expected"/>
    /// at <paramref name="tolerance"/> (atol = rtol) for f32, or 1e-3 (or the larger given) for f16; 0 means exact in both.
    /// </summary>
    private void Check(DType dtype, RefTensor expected, double tolerance, string what, Func<Tensor[], Tensor> op, params RefTensor[] inputs)
    {
        double t = tolerance == 0 ? 0 : dtype == DType.Float16 ? Math.Max(1e-3, tolerance) : tolerance;
        var tensors = new List<Tensor>();
        try
        {
            foreach (var input in inputs)
            {
                using var host = input.ToCpu(dtype);
                tensors.Add(_cuda.FromHost(host));
            }
            using var result = op([.. tensors]);
            Assert.IsType<CudaTensor>(result);
            using var back = _cuda.ToHost(result);
            Tolerance.AssertClose(back, expected, t, t, $"{what} {dtype.ShortName()}");
        }
        finally
        {
            foreach (var tensor in tensors) tensor.Dispose();
        }
    }

    /// <summary>Builds operands like "f32[2, 96]" on both backends and asserts both throw the same exception type and message.</summary>
    private void AssertSameError(string[] operands, Func<IBackend, Tensor[], Tensor> op)
    {
        var hosts = operands.Select(Parse).ToArray();
        var devices = hosts.Select(h => _cuda.FromHost(h)).ToArray();
        try
        {
            var cpu = Record.Exception(() => op(CpuBackend.Instance, hosts).Dispose());
            var cuda = Record.Exception(() => op(_cuda, devices).Dispose());
            Assert.NotNull(cpu);
            Assert.NotNull(cuda);
            Assert.Equal(cpu.GetType(), cuda.GetType());
            Assert.Equal(cpu.Message, cuda.Message);
        }
        finally
        {
            foreach (var t in hosts.Concat(devices)) t.Dispose();
        }
    }

    private static CpuTensor Parse(string operand)
    {
        int open = operand.IndexOf('[', StringComparison.Ordinal);
        var dtype = operand[..open] switch { "f32" => DType.Float32, "f16" => DType.Float16, "i32" => DType.Int32, _ => throw new ArgumentException(operand) };
        var dims = operand[(open + 1)..^1].Split(", ").Select(int.Parse).ToArray();
        return CpuTensor.Zeros(dtype, dims);
    }
}
