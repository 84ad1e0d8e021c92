using Fusion.Cuda.Gemm;
using Fusion.Cuda.Generated;
using Fusion.Kernels.Cpu;
using Fusion.Testing;

namespace Fusion.Cuda.Tests;

/// <summary>
/// The gemm template's int8 variant (<see cref="GemmKernels.LinearInt8"/>: int8 x and w, mma.sync m16n8k32 with int32 sums, each sum
/// rounded to a float for the generated epilogue float(sum)·scale[j] (+ bias[j]), activation, (+ residual)) on the GPU against a CPU
/// reference: the exact integer GEMM (<see cref="Int8Gemm"/>), then the epilogue in float32 in the same order, rounded once to the
/// output type. Fresh random operands each run; odd sizes (m not a multiple of 16 or 128, N odd below 32 and above 96, K a multiple
/// of 16, K % 16 == 8 and K odd: the scalar x path and the padded weight), K deep enough (with operands of one sign) that sums pass
/// 2²⁴ and their conversion rounds; every tile fast-run may pick. Outputs start as NaN, so an element the kernel skips fails.
/// Tolerances:
/// <list type="bullet">
/// <item>The integer part is exact and float(sum) is rounded to nearest even on both sides, so every epilogue without GELU is
/// compared bit for bit: the product alone and ReLU + residual have one evaluation order; with a bias the GPU compiler may contract
/// float(sum)·scale + bias into one fma (NVRTC's default --fmad), so the result must equal one of the two float32 evaluations
/// (fused or separate multiply and add), each rounded once to the output type.</item>
/// <item>With GELU: the GPU's erf is Abramowitz &amp; Stegun 7.1.26 on approximate ex2 and rcp (absolute error a few 1e-7), the
/// reference erf exact; |gpu − cpu| ≤ 4 float32 ulps of the result + 5e-7·|pre-activation| (+ one fp16 ulp of the result where the
/// output is fp16: the two float32 values may round to neighbouring halves), against the reference from either evaluation of the
/// pre-activation (fused or not: near zero, where float(sum)·scale cancels the bias, they differ by an ulp of the product, which
/// GELU's slope of ½ carries into the result; measured on the H200 before this allowance: up to 1.3e-8 at results of 3e-3).</item>
/// </list>
/// </summary>
public sealed class Int8GemmTemplateTests(GemmKernelFolder kernels) : GpuTestBase, IClassFixture<GemmKernelFolder>
{
    private const double TwoPow24 = 16777216;

    /// <summary>The epilogues each shape runs; those marked run in every candidate tile, the others in the default one.</summary>
    private static readonly (bool Bias, Activation Activation, bool Residual, DType Output, bool AllTiles)[] s_epilogues =
    [
        (false, Activation.None, false, DType.Float32, true),  // float(sum)·scale: bit for bit
        (true, Activation.None, true, DType.Float32, false),   // + bias (fma or not) + residual
        (true, Activation.Gelu, false, DType.Float32, false),
        (false, Activation.Relu, true, DType.Float16, false),  // one evaluation order: bit for bit in fp16
        (true, Activation.Gelu, true, DType.Float16, true),    // the whole MLP chain
    ];

    /// <summary>m, N, K and whether the operands share one sign (sums past 2²⁴).</summary>
    public static TheoryData<int, int, int, bool> Shapes() => new()
    {
        { 1, 8, 16, false },       // one row, one mma k-step
        { 77, 29, 13, false },     // N odd < 32 (BN 32), K odd: scalar x, KW = 16
        { 131, 97, 96, false },    // N odd > 96: a second column block of one column; K = 16·6
        { 200, 45, 40, false },    // K % 16 == 8: x rows not 16-byte aligned in int8 (they would be in fp16), KW = 48
        { 130, 384, 96, false },   // Swin fc1's shape, several column blocks, m past one 128-row block
        { 33, 96, 384, false },    // Swin fc2's shape
        { 129, 301, 2051, true },  // deep odd K: scalar x, padded w, sums past 2²⁴
        { 64, 50, 3072, true },    // deep K = 16·192 on the vector path, sums past 2²⁴
        { 30000, 160, 400, false }, // 235 row tiles: the persistent Hopper TMA blocks walk several tiles each (both ping-pong warpgroups), K a part k-step past 3
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MatchesTheExactProductThenTheFloatEpilogue(int m, int n, int k, bool oneSign)
    {
        using var ops = new Operands(this, m, n, k, oneSign);
        if (oneSign)
        {
            Assert.Contains(ops.Sums, s => Math.Abs((double)s) > TwoPow24);
            Assert.Contains(ops.Sums, s => Math.Abs((double)s - (float)s) > 0); // the conversion rounds somewhere
        }
        using var gemm = NewGemm(GemmPolicy.Generated);
        var runs = s_epilogues.Select(e => (Epilogue: e, Kernel: GemmKernels.LinearInt8(n, k, e.Bias, e.Activation, e.Residual, e.Output))).ToList();
        var tiles = runs.Select(r => (r.Kernel, Tiles: r.Epilogue.AllTiles ? GemmTile.CandidatesFor(r.Kernel, Device.ComputeCapability, splitK: true) : [GemmTile.Default(n)])).ToList();
        gemm.PrecompileTiles(tiles.SelectMany(t => t.Tiles.Select(tile => (t.Kernel, tile))), DType.Float16);
        foreach (var ((bias, activation, residual, dtype, _), kernel) in runs)
        {
            Assert.True(kernel.Int8);
            foreach (var tile in tiles.Single(t => t.Kernel == kernel).Tiles)
            {
                using var output = CudaTensor.Empty(Device, dtype, m, n);
                output.FillBytes(0xFF);
                gemm.RunWith(GemmPath.Generated, kernel, ops.X, ops.W, ops.EpilogueInputs(bias, residual, dtype), [output], m, DType.Float16, tile: tile);
                Assert.Equal(tile, gemm.LastTile);
                Assert.Equal(k % 16 != 0, gemm.LastRunPaddedWeight);
                ops.AssertMatches(output, bias, activation, residual, $"{kernel.Name} tile {tile} m={m}");
            }
        }
        Assert.Equal(k % 16 != 0 ? 1 : 0, gemm.PaddedWeights); // one padded copy for every kernel and tile
    }

    /// <summary>
    /// Every policy runs the template (cuBLASLt has no per-channel dequantize): generated and cuBLASLt in the default tile, fast-run
    /// among the template's tiles alone (cuBLASLt recorded as not timed), cached with that choice and without one.
    /// </summary>
    [Fact]
    public void EveryPolicyRunsTheTemplate()
    {
        const int m = 300, n = 96, k = 384;
        using var ops = new Operands(this, m, n, k, oneSign: false);
        var kernel = GemmKernels.LinearInt8(n, k, bias: false, Activation.None, residual: false, DType.Float32);
        using var output = CudaTensor.Empty(Device, DType.Float32, m, n);
        var choices = Directory.CreateTempSubdirectory("fusion-int8-choices-").FullName;
        try
        {
            void RunAndCheck(FusedGemm gemm, string what)
            {
                output.FillBytes(0xFF);
                gemm.Run(kernel, ops.X, ops.W, ops.EpilogueInputs(false, false, DType.Float32), [output], m, DType.Float16);
                Assert.Equal(GemmPath.Generated, gemm.LastPath);
                Assert.False(gemm.LastRanIlgpu);
                Assert.False(gemm.LastRunUsedEpilogueKernel);
                ops.AssertMatches(output, false, Activation.None, false, what);
            }
            foreach (var policy in new[] { GemmPolicy.Generated, GemmPolicy.CublasLt, GemmPolicy.Cached })
            {
                using var gemm = NewGemm(policy, choices);
                RunAndCheck(gemm, $"{kernel.Name} under {policy}");
                Assert.Equal(GemmTile.Default(n), gemm.LastTile);
                Assert.Equal(0, gemm.Measurements);
            }
            GemmChoice? decided;
            using (var fast = NewGemm(GemmPolicy.FastRun, choices))
            {
                RunAndCheck(fast, $"{kernel.Name} under fast-run");
                Assert.Equal(1, fast.Measurements);
                var key = fast.ChoiceKey(m, kernel);
                Assert.True(fast.Choices.TryGet(key, out decided));
                Assert.Equal(GemmPath.Generated, decided!.Path);
                Assert.Contains(decided.Tile, GemmTile.CandidatesFor(kernel, Device.ComputeCapability));
                Assert.Equal(decided.Tile, fast.LastTile);
                Assert.True(double.IsPositiveInfinity(decided.CublasLtMicroseconds));
                Assert.Contains("cublaslt_us n/a\n", File.ReadAllText(fast.Choices.PathFor(key)));
                RunAndCheck(fast, $"{kernel.Name} under fast-run, decided");
                Assert.Equal(1, fast.Measurements);
            }
            using (var cached = NewGemm(GemmPolicy.Cached, choices))
            {
                RunAndCheck(cached, $"{kernel.Name} under cached, with fast-run's choice");
                Assert.Equal(decided.Tile, cached.LastTile);
                Assert.Equal(0, cached.Measurements);
            }
        }
        finally
        {
            Directory.Delete(choices, recursive: true);
        }
    }

    /// <summary>
    /// The backend passes int8 x and weight through to the template, also under FUSION_KERNELS=ilgpu (an int8 GEMM has no ILGPU
    /// version: its CUDA C template runs), and its outputs are the epilogue's; float operands for an int8 kernel are refused by name.
    /// </summary>
    [Fact]
    public void TheBackendRunsInt8OperandsOnTheTemplate()
    {
        const int m = 50, n = 37, k = 40;
        using var ops = new Operands(this, m, n, k, oneSign: false);
        var kernel = GemmKernels.LinearInt8(n, k, bias: true, Activation.Gelu, residual: true, DType.Float16);
        foreach (var language in new[] { KernelLanguage.Nvrtc, KernelLanguage.Ilgpu })
        {
            using var cuda = new CudaBackend(Device, new KernelCache(kernels.Path), GemmPolicy.Generated);
            cuda.Generated.Language = language;
            var results = cuda.Gemm(kernel, m, DType.Float16, ops.X, ops.W, ops.EpilogueInputs(true, true, DType.Float16));
            using var output = (CudaTensor)Assert.Single(results);
            Assert.Equal(DType.Float16, output.DType);
            Assert.Equal(new Shape(m, n), output.Shape);
            Assert.Equal(GemmPath.Generated, cuda.Gemms.LastPath);
            Assert.False(cuda.Gemms.LastRanIlgpu);
            ops.AssertMatches(output, true, Activation.Gelu, true, $"{kernel.Name} through the backend ({language})");

            using var halves = CudaTensor.Empty(Device, DType.Float16, m, k);
            var e = Assert.Throws<TensorMismatchException>(() => cuda.Gemm(kernel, m, DType.Float16, halves, ops.W, ops.EpilogueInputs(true, true, DType.Float16)));
            Assert.Contains(kernel.Name, e.Message);
            Assert.Contains("f16", e.Message);
        }
    }

    /// <summary>x or a weight that is not int8 is refused by the launcher, naming the kernel and the dtype it got; so is cuBLASLt.</summary>
    [Fact]
    public void OperandsOtherThanInt8AndCublasLtAreRefusedByName()
    {
        const int m = 5, n = 40, k = 32;
        using var ops = new Operands(this, m, n, k, oneSign: false);
        var kernel = GemmKernels.LinearInt8(n, k, bias: true, Activation.None, residual: false, DType.Float16);
        using var gemm = NewGemm(GemmPolicy.Generated);
        using var output = CudaTensor.Empty(Device, DType.Float16, m, n);
        using var halfX = CudaTensor.Empty(Device, DType.Float16, m, k);
        using var halfW = CudaTensor.Empty(Device, DType.Float16, n, k);
        var inputs = ops.EpilogueInputs(true, false, DType.Float16);
        var x = Assert.Throws<TensorMismatchException>(() => gemm.Run(kernel, halfX, ops.W, inputs, [output], m, DType.Float16));
        Assert.Equal($"{kernel.Name} x", x.What);
        Assert.Contains("i8", x.Expected);
        Assert.Contains("f16", x.Actual);
        var w = Assert.Throws<TensorMismatchException>(() => gemm.Run(kernel, ops.X, halfW, inputs, [output], m, DType.Float16));
        Assert.Equal($"{kernel.Name} weight", w.What);
        Assert.Contains("f16", w.Actual);
        var cublas = Assert.Throws<FusionException>(() => gemm.RunWith(GemmPath.CublasLt, kernel, ops.X, ops.W, inputs, [output], m, DType.Float16));
        Assert.Contains(kernel.Name, cublas.Message);
        Assert.Contains("template only", cublas.Message);
        // And the fp16 template refuses int8 operands.
        var fp16 = GemmKernels.Linear(n, k, bias: true, Activation.None, residual: false);
        var refused = Assert.Throws<TensorMismatchException>(() => gemm.Run(fp16, ops.X, halfW, inputs, [output], m, DType.Float16));
        Assert.Contains("i8", refused.Actual);
    }

    /// <summary>The padded copy of an int8 weight (K % 16 != 0) is made once, and refreshed in place when the caller rewrites the weight.</summary>
    [Fact]
    public void APaddedInt8WeightIsRefreshedInPlace()
    {
        const int m = 70, n = 33, k = 21;
        using var ops = new Operands(this, m, n, k, oneSign: false);
        var kernel = GemmKernels.LinearInt8(n, k, bias: false, Activation.None, residual: false, DType.Float32);
        using var gemm = NewGemm(GemmPolicy.Generated);
        using var output = CudaTensor.Empty(Device, DType.Float32, m, n);
        gemm.Run(kernel, ops.X, ops.W, ops.EpilogueInputs(false, false, DType.Float32), [output], m, DType.Float16);
        ops.AssertMatches(output, false, Activation.None, false, "before the rewrite");
        ops.RewriteWeight();
        gemm.RefreshPaddedWeight(ops.W, ops.WHost);
        output.FillBytes(0xFF);
        gemm.Run(kernel, ops.X, ops.W, ops.EpilogueInputs(false, false, DType.Float32), [output], m, DType.Float16);
        ops.AssertMatches(output, false, Activation.None, false, "after the rewrite");
        Assert.Equal(1, gemm.PaddedWeights);
    }

    private FusedGemm NewGemm(GemmPolicy policy, string? choices = null) =>
        new(Device, new KernelJit(Device, new KernelCache(kernels.Path)), policy, choiceDirectory: choices ?? CacheDirectory);

    /// <summary>Random int8 operands and epilogue inputs on the host and the device, the exact sums, and the reference epilogue.</summary>
    private sealed class Operands : IDisposable
    {
        private readonly Int8GemmTemplateTests _test;
        private readonly int _m, _n, _k;
        private readonly bool _oneSign;
        private readonly sbyte[] _x;
        private readonly float[] _scale, _bias, _residual;
        private readonly List<IDisposable> _owned = [];
        private readonly Dictionary<(string, DType), CudaTensor> _device = [];

        public Operands(Int8GemmTemplateTests test, int m, int n, int k, bool oneSign)
        {
            (_test, _m, _n, _k, _oneSign) = (test, m, n, k, oneSign);
            var rng = test.Rng;
            _x = Codes(m * k);
            X = Own(Upload(_x, m, k));
            WHost = Own(CpuTensor.Zeros(DType.Int8, n, k));
            Codes(n * k).CopyTo(WHost.Span<sbyte>());
            W = Own(CudaTensor.FromHost(test.Device, WHost));
            // Scales of a dequantize (sₓ·s_w[j], about 1e-4 … 1e-3), a bias and a residual of order one.
            _scale = Enumerable.Range(0, n).Select(_ => (float)(1e-4 * (1 + 9 * rng.NextDouble()))).ToArray();
            _bias = Enumerable.Range(0, n).Select(_ => (float)(2 * rng.NextDouble() - 1)).ToArray();
            _residual = Enumerable.Range(0, m * n).Select(_ => (float)(2 * rng.NextDouble() - 1)).ToArray();
            Sums = new int[m * n];
            ComputeSums();
        }

        public CudaTensor X { get; }

        public CudaTensor W { get; }

        public CpuTensor WHost { get; }

        /// <summary>The exact int32 sums x·wᵀ.</summary>
        public int[] Sums { get; }

        /// <summary>The epilogue's inputs of <see cref="GemmKernels.LinearInt8"/>: the float32 scale, the bias, the residual (in <paramref name="dtype"/>).</summary>
        public CudaTensor[] EpilogueInputs(bool bias, bool residual, DType dtype) =>
        [
            Tensor("scale", DType.Float32, _scale, _n),
            .. bias ? [Tensor("bias", dtype, _bias, _n)] : Array.Empty<CudaTensor>(),
            .. residual ? [Tensor("residual", dtype, _residual, _m, _n)] : Array.Empty<CudaTensor>(),
        ];

        /// <summary>New weight codes, written over <see cref="W"/> in place (its address kept).</summary>
        public void RewriteWeight()
        {
            Codes(_n * _k).CopyTo(WHost.Span<sbyte>());
            W.CopyFromHost(WHost);
            ComputeSums();
        }

        public void AssertMatches(CudaTensor output, bool bias, Activation activation, bool residual, string what)
        {
            using var host = output.ToHost();
            var actual = host.ToFloatArray();
            bool half = output.DType == DType.Float16;
            var failures = new List<string>();
            for (int i = 0; i < _m && failures.Count < 5; i++)
                for (int j = 0; j < _n && failures.Count < 5; j++)
                {
                    int e = i * _n + j;
                    float a = Sums[e], s = _scale[j];
                    float b = bias ? Rounded(_bias[j], half) : 0, r = residual ? Rounded(_residual[e], half) : 0;
                    // The two float32 evaluations an fma contraction allows: separate multiply and add, or one fma.
                    float separate = bias ? a * s + b : a * s, fused = bias ? MathF.FusedMultiplyAdd(a, s, b) : a * s;
                    float got = actual[e];
                    if (activation == Activation.Gelu)
                    {
                        // Near zero the pre-activation is a cancellation (float(sum)·scale ≈ −bias), where the fused and the separate
                        // evaluation differ by up to an ulp of the product, far more than an ulp of the result: compare with the nearer.
                        double Miss(float v, out float expected, out double tol)
                        {
                            float g = Gelu(v);
                            expected = residual ? g + r : g;
                            tol = 4 * Tolerance.Ulp(Math.Max(Math.Abs(expected), Math.Abs(g))) + 5e-7 * Math.Abs(v) + (half ? HalfUlp(expected) : 0);
                            return Math.Abs(got - expected) - tol;
                        }
                        if (Miss(separate, out var wanted, out var within) > 0 && !(Miss(fused, out _, out _) <= 0))
                            failures.Add($"[{i}, {j}] = {got:R}, expected {wanted:R} ± {within:G3} (sum {Sums[e]}, pre-activation {separate:R} or fused {fused:R})");
                        continue;
                    }
                    float Finish(float v)
                    {
                        float act = activation == Activation.Relu ? Math.Max(v, 0f) : v;
                        return Rounded(residual ? act + r : act, half);
                    }
                    float one = Finish(separate), other = Finish(fused);
                    // Without a bias or an activation the residual add itself may be the contracted one.
                    if (!bias && activation == Activation.None && residual) other = Rounded(MathF.FusedMultiplyAdd(a, s, r), half);
                    int bits = BitConverter.SingleToInt32Bits(got);
                    if (bits != BitConverter.SingleToInt32Bits(one) && bits != BitConverter.SingleToInt32Bits(other))
                        failures.Add($"[{i}, {j}] = {got:R}, expected {one:R}{(one == other ? "" : $" or {other:R}")} bit for bit (sum {Sums[e]}, scale {s:R})");
                }
            Assert.True(failures.Count == 0, $"{what}: {string.Join("; ", failures)}");
        }

        public void Dispose()
        {
            foreach (var t in _device.Values) t.Dispose();
            foreach (var o in _owned) o.Dispose();
        }

        private void ComputeSums() => Int8Gemm.MultiplyTransposed(_x, WHost.Span<sbyte>(), Sums, _m, _n, _k);

        /// <summary>int8 codes: −127 … 127, or 64 … 127 where the sums are to pass 2²⁴.</summary>
        private sbyte[] Codes(int count)
        {
            var codes = new sbyte[count];
            for (int i = 0; i < count; i++) codes[i] = (sbyte)(_oneSign ? _test.Rng.Next(64, 128) : _test.Rng.Next(-127, 128));
            return codes;
        }

        private CudaTensor Upload(sbyte[] codes, params int[] dims)
        {
            using var host = CpuTensor.Zeros(DType.Int8, dims);
            codes.CopyTo(host.Span<sbyte>());
            return CudaTensor.FromHost(_test.Device, host);
        }

        /// <summary>A float input on the device in <paramref name="dtype"/> (made once per name and type).</summary>
        private CudaTensor Tensor(string name, DType dtype, float[] values, params int[] dims)
        {
            if (_device.TryGetValue((name, dtype), out var known)) return known;
            using var host = dtype == DType.Float16 ? CpuTensor.FromArray(values.Select(v => (Half)v).ToArray(), dims) : CpuTensor.FromArray(values, dims);
            return _device[(name, dtype)] = CudaTensor.FromHost(_test.Device, host);
        }

        private T Own<T>(T disposable) where T : IDisposable
        {
            _owned.Add(disposable);
            return disposable;
        }

        private static float Rounded(float v, bool half) => half ? (float)(Half)v : v;

        /// <summary>GELU's erf form in double, rounded once to float32.</summary>
        private static float Gelu(float v) => (float)(v * 0.5 * (1 + Fusion.Kernels.Cpu.Gelu.Erf(v * 0.7071067811865476)));

        private static double HalfUlp(float v)
        {
            var h = (Half)Math.Abs(v);
            return (double)Half.BitIncrement(h) - (double)h;
        }
    }
}
