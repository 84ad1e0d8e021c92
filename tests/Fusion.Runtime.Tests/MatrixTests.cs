using Fusion.Kernels.Cpu;
using Fusion.Testing;

namespace Fusion.Runtime.Tests;

/// <summary>Linear and MatMul (the blocked GEMM) against the float64 reference.</summary>
public class MatrixTests
{
    private static readonly CpuBackend Cpu = CpuBackend.Instance;

    /// <summary>
    /// Float32 GEMM tolerance: K products of values in [−1, 1) summed in float32. Rounding error grows
    /// at worst like K·2⁻²⁴·Σ|aᵢbᵢ| and in practice like √K; atol 1e-5 + 1e-7·K covers that with margin
    /// at every K tested (≤ 6e-5 at K = 513) while any wrong index or missed block gives O(1) errors.
    /// </summary>
    private static double GemmAtol(int k) => 1e-5 + 1e-7 * k;

    /// <summary>
    /// Sizes around the micro-tile (6 × 16), the blocks (MC 96, NC 256, KC 256), odd primes, and K = 512 and 1024 (several
    /// depth blocks, A's rows a power of two apart); K = 0 gives zeros.
    /// </summary>
    public static TheoryData<int, int, int> Sizes => new()
    {
        { 1, 1, 1 }, { 1, 7, 33 }, { 7, 33, 97 }, { 33, 97, 130 }, { 97, 130, 257 }, { 130, 257, 1 },
        { 257, 1, 7 }, { 257, 257, 257 }, { 13, 300, 513 }, { 200, 17, 300 }, { 5, 6, 0 },
        { 37, 70, 512 }, { 103, 33, 1024 }, // K a multiple of 512: A's rows 2 or 4 KiB apart
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void MatMulMatchesReference(int m, int n, int k)
    {
        foreach (bool transposeB in new[] { false, true })
        {
            int seed = TestData.NewSeed();
            var a = TestData.Random(seed, m, k);
            var b = transposeB ? TestData.Random(seed + 1, n, k) : TestData.Random(seed + 1, k, n);
            Precision.Check(DType.Float32, Ref.MatMul(a, b, transposeB), GemmAtol(k), 1e-5, $"MatMul {m}×{n}×{k} T={transposeB}",
                t => Cpu.MatMul(t[0], t[1], transposeB), a, b);
        }
    }

    /// <summary>The sizes with each micro-kernel: 512-bit vectors (32-column panels) and <see cref="System.Numerics.Vector{T}"/>.</summary>
    public static TheoryData<int, int, int, bool> SizesAndKernels()
    {
        var data = new TheoryData<int, int, int, bool>();
        foreach (var row in Sizes)
            foreach (bool wide in new[] { false, true }) data.Add(row.Data.Item1, row.Data.Item2, row.Data.Item3, wide);
        return data;
    }

    [Theory]
    [MemberData(nameof(SizesAndKernels))]
    public void APackedWeightGivesTheBitsOfPackingAsItGoes(int m, int n, int k, bool wide)
    {
        // Packing once changes where the panels come from, not the order of the sums: the same bits, and the reference.
        // Both micro-kernels run here, whichever this machine's GEMM picks (512-bit vectors work, emulated, everywhere).
        foreach (bool transposeB in new[] { false, true })
        {
            int seed = TestData.NewSeed();
            var a = Floats(TestData.Random(seed, m, k));
            var b = Floats(TestData.Random(seed + 1, transposeB ? n : k, transposeB ? k : n));
            var asGoes = new float[m * n];
            var packed = new float[m * n];
            Fusion.Kernels.Cpu.Gemm.MultiplyBatched(a, b, asGoes, 1, m, n, k, transposeB, 0, 0, 0, wide, default);
            Fusion.Kernels.Cpu.Gemm.Multiply(a, Fusion.Kernels.Cpu.Gemm.Pack(b, n, k, transposeB, wide), packed, m);
            Assert.True(asGoes.AsSpan().SequenceEqual(packed), $"seed {seed}: {m}×{n}×{k} T={transposeB} packed once differs from packed as it goes");
            var reference = Ref.MatMul(TestData.Random(seed, m, k), TestData.Random(seed + 1, transposeB ? n : k, transposeB ? k : n), transposeB);
            for (int i = 0; i < packed.Length; i++)
                Assert.True(Math.Abs(packed[i] - reference.Data[i]) <= GemmAtol(k) + 1e-5 * Math.Abs(reference.Data[i]), $"seed {seed}: element {i}");
        }
    }

    /// <summary>
    /// The blocking variants the bench times (`Fusion.Bench cpu variants`): A copied block by block gives the bits of A read in
    /// place (the same products in the same order, from another address); another depth block (128, 200: a partial last
    /// block) groups the sums differently, so it is held to the float64 reference within the GEMM's tolerance.
    /// </summary>
    [Theory]
    [MemberData(nameof(SizesAndKernels))]
    public void EveryBlockingVariantComputesTheProduct(int m, int n, int k, bool wide)
    {
        int seed = TestData.NewSeed();
        var a = TestData.Random(seed, m, k);
        var b = TestData.Random(seed + 1, n, k);
        var reference = Ref.MatMul(a, b, transposeB: true);
        foreach (int depthBlock in new[] { 256, 128, 200 })
        {
            var packed = Fusion.Kernels.Cpu.Gemm.Pack(Floats(b), n, k, transposeB: true, wide, depthBlock);
            var inPlace = new float[m * n];
            var copied = new float[m * n];
            Fusion.Kernels.Cpu.Gemm.Multiply(Floats(a), packed, inPlace, m, default, copyA: false);
            Fusion.Kernels.Cpu.Gemm.Multiply(Floats(a), packed, copied, m, default, copyA: true);
            string what = $"seed {seed}: {m}×{n}×{k} wide={wide} KC {depthBlock}";
            Assert.True(inPlace.AsSpan().SequenceEqual(copied), $"{what}: A copied differs from A in place");
            for (int i = 0; i < copied.Length; i++)
                Assert.True(Math.Abs(copied[i] - reference.Data[i]) <= GemmAtol(k) + 1e-5 * Math.Abs(reference.Data[i]),
                    $"{what}: element {i} is {copied[i]}, expected {reference.Data[i]}");
        }
    }

    /// <summary>
    /// The epilogue (bias, activation, residual) each tile gets as it is stored, on every size (partial tiles, K = 0 included)
    /// and both micro-kernels: the reference act(A·Bᵀ + bias) + residual in float64, or act(A·Bᵀ + bias + residual) with the residual
    /// first (ReLU and GELU, so the order matters); the same bits whether B is packed once or as
    /// it goes, and whether one core or all run it (an element's arithmetic does not depend on which tile holds it).
    /// </summary>
    [Theory]
    [MemberData(nameof(SizesAndKernels))]
    public void TheEpilogueIsAppliedToEveryTile(int m, int n, int k, bool wide)
    {
        foreach (var (activation, residualFirst) in new[] { (TileActivation.None, false), (TileActivation.Relu, false), (TileActivation.Gelu, false),
                     (TileActivation.Relu, true), (TileActivation.Gelu, true) })
        {
            int seed = TestData.NewSeed();
            bool hasBias = activation != TileActivation.Relu || residualFirst, hasResidual = activation != TileActivation.None;
            var a = TestData.Random(seed, m, k);
            var b = TestData.Random(seed + 1, n, k);
            var bias = TestData.Random(seed + 2, n);
            var residual = TestData.Random(seed + 3, m, n);
            var epilogue = new GemmEpilogue(hasBias ? Floats(bias) : [], activation, hasResidual ? Floats(residual) : [], residualFirst);
            var packed = new float[m * n];
            var asGoes = new float[m * n];
            var oneCore = new float[m * n];
            var fa = Floats(a);
            var fb = Floats(b);
            Fusion.Kernels.Cpu.Gemm.Multiply(fa, Fusion.Kernels.Cpu.Gemm.Pack(fb, n, k, transposeB: true, wide), packed, m, epilogue);
            Fusion.Kernels.Cpu.Gemm.Multiply(fa, fb, asGoes, m, n, k, transposeB: true, epilogue, wide);
            int workers = Parallelism.Workers;
            try
            {
                Parallelism.Workers = 1;
                Fusion.Kernels.Cpu.Gemm.Multiply(fa, fb, oneCore, m, n, k, transposeB: true, epilogue, wide);
            }
            finally
            {
                Parallelism.Workers = workers;
            }
            string what = $"seed {seed}: {m}×{n}×{k} wide={wide} {activation} bias={hasBias} residual={hasResidual} first={residualFirst}";
            Assert.True(asGoes.AsSpan().SequenceEqual(packed), $"{what}: packed once differs from packed as it goes");
            Assert.True(oneCore.AsSpan().SequenceEqual(packed), $"{what}: one core differs from {workers}");
            var product = Ref.Linear(a, b, hasBias ? bias : null);
            for (int i = 0; i < packed.Length; i++)
            {
                double v = product.Data[i] + (residualFirst ? residual.Data[i] : 0);
                v = activation switch
                {
                    TileActivation.Relu => Math.Max(v, 0),
                    TileActivation.Gelu => 0.5 * v * (1 + Fusion.Kernels.Cpu.Gelu.Erf(v / Math.Sqrt(2))),
                    _ => v,
                };
                if (hasResidual && !residualFirst) v += residual.Data[i];
                Assert.True(Math.Abs(packed[i] - v) <= GemmAtol(k) + 1e-5 * Math.Abs(v), $"{what}: element {i} is {packed[i]}, expected {v}");
            }
        }
    }

    /// <summary>
    /// Row counts around whole 6-row micro-tiles (one short, one, one over, two ± 1, two and three over, four and three over: a
    /// taller 512-bit tile, measured on 2026-12-06 and not taken, would have its edges among them too); odd N (a partial last panel)
    /// and odd K.
    /// </summary>
    public static TheoryData<int, int, int, bool> TileEdges()
    {
        var data = new TheoryData<int, int, int, bool>();
        foreach (int m in new[] { 5, 6, 7, 15, 11, 12, 13, 27 })
            foreach (var (n, k) in new[] { (33, 7), (65, 257) })
                foreach (bool wide in new[] { false, true }) data.Add(m, n, k, wide);
        return data;
    }

    /// <summary>
    /// Each row count with a bias, GELU and a residual, B packed once and as it goes, on one core and all: every element within
    /// the GEMM's tolerance (<see cref="GemmAtol"/> + 1e-5 relative) of the float64 reference act(A·Bᵀ + bias) + residual.
    /// </summary>
    [Theory]
    [MemberData(nameof(TileEdges))]
    public void RowsAtTheMicroTileEdgesGetTheProductAndEpilogue(int m, int n, int k, bool wide)
    {
        int seed = TestData.NewSeed();
        var a = TestData.Random(seed, m, k);
        var b = TestData.Random(seed + 1, n, k);
        var bias = TestData.Random(seed + 2, n);
        var residual = TestData.Random(seed + 3, m, n);
        var epilogue = new GemmEpilogue(Floats(bias), TileActivation.Gelu, Floats(residual));
        var product = Ref.Linear(a, b, bias);
        int workers = Parallelism.Workers;
        foreach (bool oneCore in new[] { false, true })
        {
            var packed = new float[m * n];
            var asGoes = new float[m * n];
            try
            {
                if (oneCore) Parallelism.Workers = 1;
                Fusion.Kernels.Cpu.Gemm.Multiply(Floats(a), Fusion.Kernels.Cpu.Gemm.Pack(Floats(b), n, k, transposeB: true, wide), packed, m, epilogue);
                Fusion.Kernels.Cpu.Gemm.Multiply(Floats(a), Floats(b), asGoes, m, n, k, transposeB: true, epilogue, wide);
            }
            finally
            {
                Parallelism.Workers = workers;
            }
            for (int i = 0; i < m * n; i++)
            {
                double x = product.Data[i];
                double v = 0.5 * x * (1 + Fusion.Kernels.Cpu.Gelu.Erf(x / Math.Sqrt(2))) + residual.Data[i];
                string what = $"seed {seed}: {m}×{n}×{k} wide={wide} one core={oneCore}: element {i} (row {i / n})";
                Assert.True(Math.Abs(packed[i] - v) <= GemmAtol(k) + 1e-5 * Math.Abs(v), $"{what} packed once is {packed[i]}, expected {v}");
                Assert.True(Math.Abs(asGoes[i] - v) <= GemmAtol(k) + 1e-5 * Math.Abs(v), $"{what} packed as it goes is {asGoes[i]}, expected {v}");
            }
        }
    }

    [Fact]
    public void AnEpilogueOfTheWrongLengthIsRefused()
    {
        var a = new float[6];
        var b = new float[6];
        var c = new float[4];
        var e = Assert.Throws<ArgumentException>(() =>
            Fusion.Kernels.Cpu.Gemm.Multiply(a, b, c, 2, 2, 3, transposeB: true, new GemmEpilogue(new float[3], TileActivation.None, [])));
        Assert.Contains("bias holds 3 elements, C has 2 columns", e.Message);
        e = Assert.Throws<ArgumentException>(() =>
            Fusion.Kernels.Cpu.Gemm.Multiply(a, b, c, 2, 2, 3, transposeB: true, new GemmEpilogue([], TileActivation.None, new float[3])));
        Assert.Contains("residual holds 3 elements, C has 4", e.Message);
    }

    private static float[] Floats(RefTensor tensor) => tensor.Data.Select(v => (float)v).ToArray();

    [Fact]
    public void APackedParameterIsRepackedWhenItsValuesChange()
    {
        int seed = TestData.NewSeed();
        var weight = new Parameter(37, 53);
        using var x = TestData.Random(seed + 1, 5, 53).ToCpu();
        foreach (var dtype in new[] { DType.Float32, DType.Float16 })
        {
            for (int round = 0; round < 2; round++)
            {
                weight.Load(Floats(TestData.Random(round == 0 ? seed : seed + 2, 37, 53))); // a new version each round
                using var input = dtype == DType.Float32 ? null : Cpu.Cast(x, dtype);
                using var y = Cpu.Linear(input ?? x, Cpu.Param(weight, dtype), null);
                var w = TestData.Random(round == 0 ? seed : seed + 2, 37, 53).RoundedTo(dtype);
                var expected = Ref.Linear(TestData.Random(seed + 1, 5, 53).RoundedTo(dtype), w, null);
                using var got = Cpu.Cast(y, DType.Float32);
                var values = ((CpuTensor)got).ToFloatArray();
                double tolerance = dtype == DType.Float32 ? GemmAtol(53) : 2e-2;
                for (int i = 0; i < values.Length; i++)
                    Assert.True(Math.Abs(values[i] - expected.Data[i]) <= tolerance, $"seed {seed}, {dtype}, round {round}: element {i} is {values[i]}, expected {expected.Data[i]}");
            }
        }
    }

    /// <summary>
    /// A plan's constant (a convolution's folded weight, built by <see cref="ConstantCache"/>) is packed once as a GEMM weight: the
    /// product is right, and stays the packed one when the tensor's values are changed behind the cache's back (which the contract
    /// forbids; here it shows the packing is reused), until the cache rebuilds and adopts the constant again. A tensor nobody
    /// adopted is packed as it goes, so its new values are seen at once.
    /// </summary>
    [Fact]
    public void AConstantIsPackedOnceUntilItIsAdoptedAgain()
    {
        int seed = TestData.NewSeed();
        const int m = 7, n = 41, k = 29;
        var first = TestData.Random(seed, n, k);
        var second = TestData.Random(seed + 1, n, k);
        var xRef = TestData.Random(seed + 2, m, k);
        using var x = xRef.ToCpu();
        using var loose = first.ToCpu();
        using var cache = new ConstantCache();
        var constant = (CpuTensor)cache.Get(Cpu, DType.Float32, stamp: 1, (_, _) => [first.ToCpu()])[0];

        void Check(Tensor weight, RefTensor expectedWeight, string what)
        {
            using var y = Cpu.Linear(x, weight, null);
            var expected = Ref.Linear(xRef, expectedWeight, null);
            var values = ((CpuTensor)y).ToFloatArray();
            for (int i = 0; i < values.Length; i++)
                Assert.True(Math.Abs(values[i] - expected.Data[i]) <= GemmAtol(k), $"seed {seed}, {what}: element {i} is {values[i]}, expected {expected.Data[i]}");
        }

        Check(constant, first, "the adopted constant");
        Floats(second).CopyTo(constant.Span<float>());
        Check(constant, first, "the constant changed without a rebuild (its packing is reused)");
        var rebuilt = (CpuTensor)cache.Get(Cpu, DType.Float32, stamp: 2, (_, _) => [second.ToCpu()])[0];
        Check(rebuilt, second, "the rebuilt constant");
        Floats(second).CopyTo(loose.Span<float>());
        Check(loose, second, "a tensor never adopted");
    }

    [Theory]
    [InlineData(DType.Float32, false)]
    [InlineData(DType.Float32, true)]
    [InlineData(DType.Float16, false)]
    [InlineData(DType.Float16, true)]
    public void BatchedMatMulMatchesReference(DType dtype, bool transposeB)
    {
        // Attention-shaped: many small products (49 tokens, head dim 32), batched over two leading axes.
        int seed = TestData.NewSeed();
        var a = Precision.Input(seed, dtype, 2, 3, 49, 32);
        var b = transposeB ? Precision.Input(seed + 1, dtype, 2, 3, 49, 32) : Precision.Input(seed + 1, dtype, 2, 3, 32, 49);
        Precision.Check(dtype, Ref.MatMul(a, b, transposeB), GemmAtol(32), 1e-5, "batched MatMul", t => Cpu.MatMul(t[0], t[1], transposeB), a, b);
    }

    [Fact]
    public void MatMulSharesTwoDimensionalB()
    {
        int seed = TestData.NewSeed();
        var a = TestData.Random(seed, 3, 2, 11, 40);
        var b = TestData.Random(seed + 1, 40, 19);
        Precision.Check(DType.Float32, Ref.MatMul(a, b), GemmAtol(40), 1e-5, "shared-B MatMul", t => Cpu.MatMul(t[0], t[1], false), a, b);
    }

    [Theory]
    [InlineData(DType.Float32, 1, 1, 1)]
    [InlineData(DType.Float32, 7, 33, 97)]
    [InlineData(DType.Float32, 130, 96, 384)]
    [InlineData(DType.Float16, 97, 96, 130)]
    [InlineData(DType.Float16, 7, 257, 33)]
    public void LinearMatchesReference(DType dtype, int rows, int inFeatures, int outFeatures)
    {
        int seed = TestData.NewSeed();
        var x = Precision.Input(seed, dtype, 2, rows, inFeatures);
        var w = Precision.Input(seed + 1, dtype, outFeatures, inFeatures);
        var b = Precision.Input(seed + 2, dtype, outFeatures);
        Precision.Check(dtype, Ref.Linear(x, w, b), GemmAtol(inFeatures), 1e-5, "Linear", t => Cpu.Linear(t[0], t[1], t[2]), x, w, b);
        Precision.Check(dtype, Ref.Linear(x, w, null), GemmAtol(inFeatures), 1e-5, "Linear without bias", t => Cpu.Linear(t[0], t[1], null), x, w);
    }

    [Fact]
    public void EagerLinearUsesTheModuleParameters()
    {
        int seed = TestData.NewSeed();
        var layer = new Linear(24, 10);
        var w = TestData.Random(seed, 10, 24);
        var b = TestData.Random(seed + 1, 10);
        layer.weight.Load(w.Data.Select(v => (float)v).ToArray());
        layer.bias!.Load(b.Data.Select(v => (float)v).ToArray());
        var x = TestData.Random(seed + 2, 5, 24);
        foreach (var dtype in new[] { DType.Float32, DType.Float16 })
        {
            var xr = x.RoundedTo(dtype);
            Precision.Check(dtype, Ref.Linear(xr, w.RoundedTo(dtype), b.RoundedTo(dtype)), GemmAtol(24), 1e-5, "F.Linear", t => F.Linear(t[0], layer), xr);
        }
    }
}
