using Fusion.Cuda.Gemm;
using Fusion.Kernels.Cpu.Fused;

namespace Fusion.Cuda.Tests;

/// <summary>Compiled gemm_bias_act kernels shared by every test of <see cref="FusedGemmTests"/> through one disk cache folder.</summary>
public sealed class GemmKernelFolder : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("fusion-gemm-kernels-");

    public string Path => _dir.FullName;

    public void Dispose() => _dir.Delete(recursive: true);
}

/// <summary>
/// The fused linear layer out = act(x·wᵀ + bias) + residual on both paths (generated kernel, cuBLASLt) against the CPU
/// twin <see cref="FusedLinearTwin"/> in float32 on the same fp16-rounded inputs, and the fast-run choice cache.
/// Tolerance |gpu − ref| ≤ 4e-3 + 1e-3·|ref|: the output is rounded to fp16 once (half an ulp, 2⁻¹¹ relative) and on the
/// cuBLASLt path with an activation and a residual twice (the product is stored, then added), which the 1e-3 relative term
/// (one ulp) covers; cuBLASLt's GELU is the tanh form, which differs from erf-GELU by at most 4.7e-4 absolute, and the
/// GPU and the twin sum K ≤ 384 float32 products in different orders (≈1e-5 here): the 4e-3 absolute term covers both
/// for results near zero. Inputs are uniform in [−1, 1), so results reach about ±25 at K = 384.
/// </summary>
public sealed class FusedGemmTests(GemmKernelFolder kernels) : GpuTestBase, IClassFixture<GemmKernelFolder>
{
    private const double Atol = 4e-3, Rtol = 1e-3;

    public static TheoryData<GemmPolicy, int, int, int> Cases()
    {
        var data = new TheoryData<GemmPolicy, int, int, int>();
        foreach (var policy in new[] { GemmPolicy.Generated, GemmPolicy.CublasLt })
            foreach (int m in new[] { 1, 3, 64, 3136 })
                foreach (var (n, k) in new[] { (384, 96), (96, 384), (288, 96), (30, 36), (37, 13) })
                    data.Add(policy, m, n, k);
        return data;
    }

    /// <summary>
    /// Every epilogue (ACT 0/1/2 × bias × residual) of one shape on one forced path. K = 36 and 13 are not multiples of 8:
    /// the generated kernel then reads one zero-padded [N, KW] copy of the weight, made once for all twelve epilogues.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesCpuTwin(GemmPolicy policy, int m, int n, int k)
    {
        var inputs = new Inputs(this, m, n, k);
        using var gemm = NewGemm(policy);
        foreach (var activation in Enum.GetValues<Activation>())
            foreach (bool hasBias in new[] { false, true })
                foreach (bool hasResidual in new[] { false, true })
                {
                    var kernel = FusedGemm.Specialize(n, k, activation, hasBias, hasResidual);
                    inputs.Output.FillBytes(0xFF); // NaN everywhere: an element the kernel skips fails the check
                    gemm.Run(inputs.X, inputs.W, hasBias ? inputs.Bias : null, activation, hasResidual ? inputs.Residual : null, inputs.Output, kernel);
                    Assert.Equal(policy == GemmPolicy.Generated ? GemmPath.Generated : GemmPath.CublasLt, gemm.LastPath);
                    Assert.Equal(policy == GemmPolicy.Generated && k % 8 != 0, gemm.LastRunPaddedWeight);
                    TestData.AssertClose(Download(inputs.Output), inputs.Reference(activation, hasBias, hasResidual), Atol, Rtol,
                        $"{policy} {kernel.Name} m={m}");
                }
        Assert.Equal(policy == GemmPolicy.Generated && k % 8 != 0 ? 1 : 0, gemm.PaddedWeights);
        inputs.Dispose();
    }

    /// <summary>Every tile fast-run may pick, on odd m and N (edge tiles in both directions), with the full epilogue.</summary>
    [Theory]
    [InlineData(1, 384, 96)]
    [InlineData(77, 96, 384)]
    [InlineData(197, 30, 36)]
    [InlineData(3136, 288, 96)]
    public void EveryTileMatchesCpuTwin(int m, int n, int k)
    {
        var inputs = new Inputs(this, m, n, k);
        using var gemm = NewGemm(GemmPolicy.Generated);
        var kernel = FusedGemm.Specialize(n, k, Activation.Gelu, true, true);
        var reference = inputs.Reference(Activation.Gelu, true, true);
        foreach (var tile in GemmTile.Candidates(n))
        {
            inputs.Output.FillBytes(0xFF);
            gemm.RunWith(GemmPath.Generated, inputs.X, inputs.W, inputs.Bias, Activation.Gelu, inputs.Residual, inputs.Output, kernel, tile: tile);
            Assert.Equal(tile, gemm.LastTile);
            TestData.AssertClose(Download(inputs.Output), reference, Atol, Rtol, $"{kernel.Name} tile {tile} m={m}");
        }
        inputs.Dispose();
    }

    /// <summary>The cached policy measures nothing: cuBLASLt until a fast-run decision exists, then that decision (path and tile).</summary>
    [Fact]
    public void CachedPolicyUsesAFastRunDecisionElseCublasLt()
    {
        const int m = 197, n = 96, k = 96;
        var choices = Directory.CreateTempSubdirectory("fusion-gemm-choice-").FullName;
        var inputs = new Inputs(this, m, n, k);
        var kernel = FusedGemm.Specialize(n, k, Activation.None, true, false);
        using (var cached = NewGemm(GemmPolicy.Cached, choices))
        {
            cached.Run(inputs.X, inputs.W, inputs.Bias, Activation.None, null, inputs.Output, kernel);
            Assert.Equal(GemmPath.CublasLt, cached.LastPath);
            Assert.Equal(0, cached.Measurements);
            Assert.False(File.Exists(cached.Choices.PathFor(cached.ChoiceKey(m, kernel))));
        }
        GemmChoice decided;
        using (var fast = NewGemm(GemmPolicy.FastRun, choices))
        {
            fast.Run(inputs.X, inputs.W, inputs.Bias, Activation.None, null, inputs.Output, kernel);
            Assert.True(fast.Choices.TryGet(fast.ChoiceKey(m, kernel), out decided));
        }
        using (var cached = NewGemm(GemmPolicy.Cached, choices))
        {
            inputs.Output.FillBytes(0xFF);
            cached.Run(inputs.X, inputs.W, inputs.Bias, Activation.None, null, inputs.Output, kernel);
            Assert.Equal(decided.Path, cached.LastPath);
            Assert.Equal(decided.Path == GemmPath.Generated ? decided.Tile : null, cached.LastTile);
            Assert.Equal(0, cached.Measurements);
            TestData.AssertClose(Download(inputs.Output), inputs.Reference(Activation.None, true, false), Atol, Rtol, "cached decision");
        }
        inputs.Dispose();
        Directory.Delete(choices, recursive: true);
    }

    [Fact]
    public void LeadingDimensionsFlattenIntoRows()
    {
        const int n = 96, k = 96;
        var inputs = new Inputs(this, 2 * 7 * 5, n, k);
        using var gemm = NewGemm(GemmPolicy.Generated);
        using var x = Upload(inputs.XHost, 2, 7, 5, k);
        using var output = CudaTensor.Empty(Device, DType.Float16, 2, 7, 5, n);
        output.FillBytes(0xFF);
        gemm.Run(x, inputs.W, inputs.Bias, Activation.Gelu, null, output, FusedGemm.Specialize(n, k, Activation.Gelu, true, false));
        TestData.AssertClose(Download(output), inputs.Reference(Activation.Gelu, true, false), Atol, Rtol, "[2, 7, 5, 96] input");
        inputs.Dispose();
    }

    [Fact]
    public void FastRunMeasuresOnceAndRemembersOnDisk()
    {
        const int m = 3136, n = 384, k = 96;
        var choices = Directory.CreateTempSubdirectory("fusion-gemm-choice-").FullName;
        var warnings = new List<string>();
        var inputs = new Inputs(this, m, n, k);
        var kernel = FusedGemm.Specialize(n, k, Activation.Gelu, true, false);
        GemmPath first;
        using (var gemm = NewGemm(GemmPolicy.FastRun, choices, warnings.Add))
        {
            gemm.Run(inputs.X, inputs.W, inputs.Bias, Activation.Gelu, null, inputs.Output, kernel);
            Assert.Equal(1, gemm.Measurements);
            first = gemm.LastPath!.Value;
            var file = gemm.Choices.PathFor(gemm.ChoiceKey(m, kernel));
            Assert.True(File.Exists(file), $"no choice file {file}");
            var stored = GemmChoiceCache.Parse(File.ReadAllText(file), gemm.ChoiceKey(m, kernel), out var problem);
            Assert.True(stored is not null, problem);
            Assert.Equal(first, stored.Path);
            Assert.True(stored.GeneratedMicroseconds > 0 && stored.CublasLtMicroseconds > 0, File.ReadAllText(file));
            TestData.AssertClose(Download(inputs.Output), inputs.Reference(Activation.Gelu, true, false), Atol, Rtol, "fast-run first call");

            inputs.Output.FillBytes(0xFF);
            gemm.Run(inputs.X, inputs.W, inputs.Bias, Activation.Gelu, null, inputs.Output, kernel);
            Assert.Equal(1, gemm.Measurements); // remembered in memory
            Assert.Equal(first, gemm.LastPath);
            TestData.AssertClose(Download(inputs.Output), inputs.Reference(Activation.Gelu, true, false), Atol, Rtol, "fast-run second call");
        }
        using (var again = NewGemm(GemmPolicy.FastRun, choices, warnings.Add))
        {
            again.Run(inputs.X, inputs.W, inputs.Bias, Activation.Gelu, null, inputs.Output, kernel);
            Assert.Equal(0, again.Measurements); // read from disk
            Assert.Equal(first, again.LastPath);
        }
        Assert.Empty(warnings);
        inputs.Dispose();
        Directory.Delete(choices, recursive: true);
    }

    [Fact]
    public void CorruptChoiceFileIsIgnoredWithAWarningAndRewritten()
    {
        const int m = 64, n = 96, k = 384;
        var choices = Directory.CreateTempSubdirectory("fusion-gemm-choice-").FullName;
        var warnings = new List<string>();
        var inputs = new Inputs(this, m, n, k);
        var kernel = FusedGemm.Specialize(n, k, Activation.None, true, true);
        using (var gemm = NewGemm(GemmPolicy.FastRun, choices, warnings.Add))
        {
            var file = gemm.Choices.PathFor(gemm.ChoiceKey(m, kernel));
            File.WriteAllText(file, "fusion-gemm-choice 1\nkey something else\npath maybe\n\0\0\0");
            inputs.Output.FillBytes(0xFF);
            gemm.Run(inputs.X, inputs.W, inputs.Bias, Activation.None, inputs.Residual, inputs.Output, kernel);
            Assert.Equal(1, gemm.Measurements);
            var warning = Assert.Single(warnings);
            Assert.Contains("corrupt", warning);
            Assert.Contains(file, warning);
            Assert.NotNull(GemmChoiceCache.Parse(File.ReadAllText(file), gemm.ChoiceKey(m, kernel), out _));
            TestData.AssertClose(Download(inputs.Output), inputs.Reference(Activation.None, true, true), Atol, Rtol, "after a corrupt choice file");
        }
        inputs.Dispose();
        Directory.Delete(choices, recursive: true);
    }

    [Fact]
    public void KernelThatDoesNotMatchTheCallIsRejected()
    {
        var inputs = new Inputs(this, 8, 30, 36);
        using var gemm = NewGemm(GemmPolicy.Generated);
        var gelu = FusedGemm.Specialize(30, 36, Activation.Gelu, true, false);
        var e = Assert.Throws<FusionException>(() => gemm.Run(inputs.X, inputs.W, inputs.Bias, Activation.Relu, null, inputs.Output, gelu));
        Assert.Contains(gelu.Name, e.Message);
        Assert.Throws<FusionException>(() => gemm.Run(inputs.X, inputs.W, null, Activation.Gelu, null, inputs.Output, gelu));
        var wide = FusedGemm.Specialize(31, 36, Activation.Gelu, true, false);
        var mismatch = Assert.Throws<TensorMismatchException>(() => gemm.Run(inputs.X, inputs.W, inputs.Bias, Activation.Gelu, null, inputs.Output, wide));
        Assert.Contains("weight", mismatch.Message);
        var stride = gelu with { Constants = new Dictionary<string, int>(gelu.Constants) { ["KW"] = 36 } };
        e = Assert.Throws<FusionException>(() => gemm.Run(inputs.X, inputs.W, inputs.Bias, Activation.Gelu, null, inputs.Output, stride));
        Assert.Contains("KW = 36, expected 40", e.Message);
        Assert.Equal(0, gemm.PaddedWeights);
        inputs.Dispose();
    }

    /// <summary>A weight rewritten in place (as CudaBackend.Param refreshes parameters) reaches the kernel through its padded copy.</summary>
    [Fact]
    public void RefreshedWeightRepadsItsCopyInPlace()
    {
        const int m = 70, n = 37, k = 13;
        var inputs = new Inputs(this, m, n, k);
        using var gemm = NewGemm(GemmPolicy.Generated);
        var kernel = FusedGemm.Specialize(n, k, Activation.Relu, true, false);
        gemm.Run(inputs.X, inputs.W, inputs.Bias, Activation.Relu, null, inputs.Output, kernel);
        Assert.True(gemm.LastRunPaddedWeight);
        TestData.AssertClose(Download(inputs.Output), inputs.Reference(Activation.Relu, true, false), Atol, Rtol, "first weights");

        var fresh = TestData.RandomHalves(Rng, n * k);
        using (var host = CpuTensor.FromArray(fresh, n, k))
        {
            inputs.W.CopyFromHost(host);
            gemm.RefreshPaddedWeight(inputs.W, host);
        }
        inputs.SetWeight(fresh);
        inputs.Output.FillBytes(0xFF);
        gemm.Run(inputs.X, inputs.W, inputs.Bias, Activation.Relu, null, inputs.Output, kernel);
        TestData.AssertClose(Download(inputs.Output), inputs.Reference(Activation.Relu, true, false), Atol, Rtol, "refreshed weights");

        // Without host values the copy is re-read from the device.
        var third = TestData.RandomHalves(Rng, n * k);
        using (var host = CpuTensor.FromArray(third, n, k)) inputs.W.CopyFromHost(host);
        gemm.RefreshPaddedWeight(inputs.W);
        inputs.SetWeight(third);
        inputs.Output.FillBytes(0xFF);
        gemm.Run(inputs.X, inputs.W, inputs.Bias, Activation.Relu, null, inputs.Output, kernel);
        TestData.AssertClose(Download(inputs.Output), inputs.Reference(Activation.Relu, true, false), Atol, Rtol, "weights read back");
        Assert.Equal(1, gemm.PaddedWeights);
        inputs.Dispose();
    }

    private FusedGemm NewGemm(GemmPolicy policy, string? choices = null, Action<string>? warn = null)
        => new(Device, new KernelJit(Device, new KernelCache(kernels.Path)), policy, choiceDirectory: choices ?? CacheDirectory, warn: warn);

    /// <summary>Random fp16 operands on the device and their float copies for the twin.</summary>
    private sealed class Inputs : IDisposable
    {
        private readonly float[] _x, _bias, _residual;
        private float[] _w;
        private readonly int _m, _n, _k;

        public Inputs(FusedGemmTests test, int m, int n, int k)
        {
            (_m, _n, _k) = (m, n, k);
            XHost = TestData.RandomHalves(test.Rng, m * k);
            var w = TestData.RandomHalves(test.Rng, n * k);
            var bias = TestData.RandomHalves(test.Rng, n);
            var residual = TestData.RandomHalves(test.Rng, m * n);
            (_x, _w, _bias, _residual) = (ToFloats(XHost), ToFloats(w), ToFloats(bias), ToFloats(residual));
            X = test.Upload(XHost, m, k);
            W = test.Upload(w, n, k);
            Bias = test.Upload(bias, n);
            Residual = test.Upload(residual, m, n);
            Output = CudaTensor.Empty(test.Device, DType.Float16, m, n);
        }

        public Half[] XHost { get; }

        public CudaTensor X { get; }

        public CudaTensor W { get; }

        public CudaTensor Bias { get; }

        public CudaTensor Residual { get; }

        public CudaTensor Output { get; }

        /// <summary>The twin's copy of the weight after the test rewrote <see cref="W"/>.</summary>
        public void SetWeight(Half[] w) => _w = ToFloats(w);

        public double[] Reference(Activation activation, bool hasBias, bool hasResidual)
        {
            var output = new float[_m * _n];
            FusedLinearTwin.Run(_x, _w, hasBias ? _bias : [], hasResidual ? _residual : [], output, _m, _n, _k, (int)activation);
            return Array.ConvertAll(output, v => (double)v);
        }

        public void Dispose()
        {
            X.Dispose();
            W.Dispose();
            Bias.Dispose();
            Residual.Dispose();
            Output.Dispose();
        }

        private static float[] ToFloats(Half[] values) => Array.ConvertAll(values, v => (float)v);
    }
}

/// <summary>The parts of the fused GEMM that need no GPU: policy parsing and weight padding.</summary>
public sealed class FusedGemmHostTests
{
    [Theory]
    [InlineData(null, GemmPolicy.FastRun)]
    [InlineData("", GemmPolicy.FastRun)]
    [InlineData("fastrun", GemmPolicy.FastRun)]
    [InlineData("generated", GemmPolicy.Generated)]
    [InlineData(" CublasLt ", GemmPolicy.CublasLt)]
    [InlineData("cached", GemmPolicy.Cached)]
    public void PolicyParses(string? value, GemmPolicy expected) => Assert.Equal(expected, GemmPolicies.Parse(value));

    [Fact]
    public void UnknownPolicyNamesTheChoices()
    {
        var e = Assert.Throws<FusionException>(() => GemmPolicies.Parse("fastest"));
        Assert.Contains("generated, cublaslt, cached, fastrun", e.Message);
    }

    /// <summary>Pad rounds N and K up to 8; PadColumns (what the generated kernel reads, [N, KW]) only K. Values kept, zeros around.</summary>
    [Theory]
    [InlineData(false, 40)]
    [InlineData(true, 37)]
    public void PaddingZeroFillsAndRecordsTheLogicalShape(bool columnsOnly, int paddedRows)
    {
        var values = Enumerable.Range(1, 37 * 13).Select(i => (Half)(i % 100 + 1)).ToArray();
        using var weight = CpuTensor.FromArray(values, 37, 13);
        var padded = columnsOnly ? GemmWeights.PadColumns(weight) : GemmWeights.Pad(weight);
        using var tensor = padded.Tensor;
        Assert.Equal((37, 13, paddedRows, 16), (padded.Rows, padded.Columns, padded.PaddedRows, padded.PaddedColumns));
        var span = tensor.Span<Half>();
        for (int r = 0; r < paddedRows; r++)
            for (int c = 0; c < 16; c++)
                Assert.Equal(r < 37 && c < 13 ? values[r * 13 + c] : Half.Zero, span[r * 16 + c]);
        using var floats = CpuTensor.Zeros(DType.Float32, 3, 5);
        Assert.Throws<TensorMismatchException>(() => GemmWeights.PadColumns(floats));
    }

    [Theory]
    [InlineData(1, 8)]
    [InlineData(13, 16)]
    [InlineData(36, 40)]
    [InlineData(96, 96)]
    [InlineData(385, 392)]
    public void RowStrideIsKRoundedUpToEightHalves(int k, int kw)
    {
        Assert.Equal(kw, GemmWeights.RowStride(k));
        Assert.Equal(kw, FusedGemm.Constants(30, k, Activation.None, false, false)["KW"]);
        Assert.Contains($"#define FUSION_KW {kw}\n", FusedGemm.Specialize(30, k, Activation.None, false, false).CudaSource, StringComparison.Ordinal);
    }

    [Fact]
    public void KernelNamesSayWhatTheyDo()
    {
        Assert.Equal("gemm_bias_gelu_n384_k96", FusedGemm.KernelName(384, 96, Activation.Gelu, true, false));
        Assert.Equal("gemm_bias_res_n96_k384", FusedGemm.KernelName(96, 384, Activation.None, true, true));
        Assert.Equal(96, GemmTile.DefaultColumns(288));
        Assert.Equal(32, GemmTile.DefaultColumns(30));
    }

    [Fact]
    public void TileCandidatesStartWithTheDefaultAndSpecializeByDefines()
    {
        Assert.Equal([new GemmTile(128, 96), new GemmTile(64, 96), new GemmTile(32, 96), new GemmTile(64, 32)], GemmTile.Candidates(384));
        Assert.Equal([new GemmTile(128, 32), new GemmTile(64, 32), new GemmTile(32, 32)], GemmTile.Candidates(30));
        var kernel = FusedGemm.Specialize(96, 96, Activation.None, true, false);
        Assert.Same(kernel.CudaSource, GemmTile.Default(96).Specialize(kernel.CudaSource, 96));
        var small = new GemmTile(32, 32).Specialize(kernel.CudaSource, 96);
        Assert.Contains("#define FUSION_BM 32\n#define FUSION_BN 32\n#define FUSION_KERNEL gemm_bias_n96_k96\n", small, StringComparison.Ordinal);
        Assert.Equal(64, new GemmTile(32, 32).Threads);
        Assert.Equal(2 * 3, new GemmTile(64, 32).Blocks(65, 96));
        Assert.Equal(new GemmTile(64, 96), GemmTile.TryParse("64x96"));
        Assert.Null(GemmTile.TryParse("48x96"));
        Assert.Null(GemmTile.TryParse("64x"));
    }

    [Fact]
    public void ChoiceFileRoundTripsAndRejectsOtherKeys()
    {
        var choice = new GemmChoice(GemmPath.CublasLt, new GemmTile(64, 32), 12.5, 11.25);
        var text = GemmChoiceCache.Format("k1", choice);
        Assert.Equal(choice, GemmChoiceCache.Parse(text, "k1", out _));
        Assert.Null(GemmChoiceCache.Parse(text, "k2", out var problem));
        Assert.Contains("another key", problem);
        Assert.Null(GemmChoiceCache.Parse("garbage", "k1", out _));
    }
}
