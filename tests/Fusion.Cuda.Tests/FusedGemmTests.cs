using Fusion.Cuda.Gemm;

namespace Fusion.Cuda.Tests;

/// <summary>Compiled kernels (GEMMs, generated kernels) shared by every test of a class through one disk cache folder.</summary>
public sealed class GemmKernelFolder : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("fusion-gemm-kernels-");

    public string Path => _dir.FullName;

    public void Dispose() => _dir.Delete(recursive: true);
}

/// <summary>
/// A Linear layer with its generated epilogue (<see cref="GemmKernel"/>) through <see cref="FusedGemm"/> on both paths (the gemm template
/// with the epilogue printed in; cuBLASLt with its own epilogue, or the bare product finished by the epilogue kernel when cuBLASLt has
/// none) against the CPU backend's <see cref="CpuBackend.Gemm"/> on the same fp16 inputs (float32 product, the epilogue interpreted
/// from the same loop IR, one rounding), and the fast-run choice cache. Tolerance <see cref="KernelChecks.HalfGemm"/>,
/// |gpu − cpu| ≤ 4e-3 + 3e-3·|cpu|: both round the result to fp16 (half an ulp each); the product may be rounded to fp16 first (on
/// the cuBLASLt path, where it stores the product for the epilogue kernel, or bias + activation before adding the residual in
/// place), one fp16 ulp of |product| ≤ |out| + 2 at most; cuBLASLt's GELU
/// is the tanh form, within 4.7e-4 absolute of the erf form the CPU computes; and the two sum K ≤ 384 float32 products in different
/// orders (≈1e-5). Inputs are uniform in [−1, 1), so results reach about ±25. Outputs are filled with NaN before each run, so an
/// element the kernel skips fails.
/// </summary>
public sealed class FusedGemmTests(GemmKernelFolder kernels) : GpuTestBase, IClassFixture<GemmKernelFolder>
{
    private static readonly Tol Tolerance = KernelChecks.HalfGemm;

    /// <summary>The epilogues <see cref="GemmKernels.Linear"/> builds that the tests run: none, bias, bias+relu, bias+gelu, residual, bias+gelu+residual.</summary>
    private static readonly (bool Bias, Activation Activation, bool Residual)[] s_epilogues =
    [
        (false, Activation.None, false),
        (true, Activation.None, false),
        (true, Activation.Relu, false),
        (true, Activation.Gelu, false),
        (false, Activation.None, true),
        (true, Activation.Gelu, true),
    ];

    private static readonly int[] s_rows = [1, 3, 64, 3136];

    public static TheoryData<GemmPolicy, int, int, int> Cases()
    {
        var data = new TheoryData<GemmPolicy, int, int, int>();
        foreach (var policy in new[] { GemmPolicy.Generated, GemmPolicy.CublasLt })
            foreach (int m in s_rows)
                foreach (var (n, k) in new[] { (384, 96), (96, 384), (288, 96), (30, 36), (37, 13) })
                    data.Add(policy, m, n, k);
        return data;
    }

    /// <summary>
    /// Every epilogue of one shape on one forced path. K = 36 and 13 are not multiples of 8: the template then reads one zero-padded
    /// [N, KW] copy of the weight, made once for all six epilogues; cuBLASLt reads the weight as it is.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesTheCpuBackend(GemmPolicy policy, int m, int n, int k)
    {
        using var inputs = new Inputs(this, m, n, k);
        using var gemm = NewGemm(policy);
        foreach (var (bias, activation, residual) in s_epilogues)
        {
            var kernel = GemmKernels.Linear(n, k, bias, activation, residual);
            Assert.NotNull(kernel.Cublas); // all of these are cuBLASLt epilogues
            inputs.Output.FillBytes(0xFF);
            gemm.Run(kernel, inputs.X, inputs.W, inputs.EpilogueInputs(bias, residual), [inputs.Output], m, DType.Float16);
            Assert.Equal(policy == GemmPolicy.Generated ? GemmPath.Generated : GemmPath.CublasLt, gemm.LastPath);
            Assert.Equal(policy == GemmPolicy.Generated && k % 8 != 0, gemm.LastRunPaddedWeight);
            Assert.False(gemm.LastRunUsedEpilogueKernel);
            inputs.AssertOutputMatches(kernel, bias, residual, $"{policy} {kernel.Name} m={m}");
        }
        Assert.Equal(policy == GemmPolicy.Generated && k % 8 != 0 ? 1 : 0, gemm.PaddedWeights);
    }

    public static TheoryData<GemmPolicy, int, int, int> LayerScaleCases()
    {
        var data = new TheoryData<GemmPolicy, int, int, int>();
        foreach (var policy in new[] { GemmPolicy.Generated, GemmPolicy.CublasLt })
            foreach (int m in s_rows)
                foreach (var (n, k) in new[] { (96, 384), (30, 36), (37, 13) })
                    data.Add(policy, m, n, k);
        return data;
    }

    /// <summary>
    /// (x·wᵀ + bias)·scale + residual, a [N] layer scale: cuBLASLt has no epilogue for it (<see cref="GemmKernel.Cublas"/> is null), so
    /// its path writes the bare product and the epilogue kernel finishes it; the template runs the same epilogue printed in.
    /// </summary>
    [Theory]
    [MemberData(nameof(LayerScaleCases))]
    public void EpilogueCublasLtCannotExpressRunsTheEpilogueKernel(GemmPolicy policy, int m, int n, int k)
    {
        var custom = CustomGemms.LayerScaleResidual(n, k);
        var kernel = custom.Kernel;
        Assert.Null(kernel.Cublas);
        Assert.Equal(["bias", "scale", "residual"], custom.EpilogueInputs);
        using var inputs = new Inputs(this, m, n, k);
        using var scaleHost = KernelChecks.Random(RefSeed(), DType.Float16, n);
        using var scale = CudaTensor.FromHost(Device, scaleHost);
        using var gemm = NewGemm(policy);
        inputs.Output.FillBytes(0xFF);
        gemm.Run(kernel, inputs.X, inputs.W, [inputs.Bias, scale, inputs.Residual], [inputs.Output], m, DType.Float16);
        Assert.Equal(policy == GemmPolicy.CublasLt, gemm.LastRunUsedEpilogueKernel);
        Assert.Equal(policy == GemmPolicy.Generated && k % 8 != 0, gemm.LastRunPaddedWeight);
        using var expected = (CpuTensor)CpuBackend.Instance.Gemm(kernel, m, DType.Float16, inputs.XHost, inputs.WHost, inputs.BiasHost, scaleHost, inputs.ResidualHost)[0];
        using var actual = inputs.Output.ToHost();
        KernelChecks.AssertClose(actual, expected, Tolerance, $"{policy} {kernel.Name} m={m}");
    }

    public static TheoryData<GemmPolicy, int, int, int, Activation> ResidualFirstCases()
    {
        var data = new TheoryData<GemmPolicy, int, int, int, Activation>();
        foreach (var policy in new[] { GemmPolicy.Generated, GemmPolicy.CublasLt })
            foreach (int m in s_rows)
                foreach (var (n, k) in new[] { (256, 64), (30, 36), (37, 13) })
                    data.Add(policy, m, n, k, m == 64 ? Activation.Gelu : Activation.Relu);
        return data;
    }

    /// <summary>
    /// act(x·wᵀ + bias + residual), the residual before the activation (a ResNet block's end): on cuBLASLt one call with the residual
    /// as C (no epilogue kernel, no add after it), on the template the epilogue printed in; both against the CPU backend.
    /// </summary>
    [Theory]
    [MemberData(nameof(ResidualFirstCases))]
    public void AResidualBeforeTheActivationIsOneCublasLtCall(GemmPolicy policy, int m, int n, int k, Activation activation)
    {
        var kernel = GemmKernels.Linear(n, k, bias: true, activation, residual: true, residualFirst: true);
        Assert.Equal(new CublasEpilogue(activation, 0, 1) { ResidualFirst = true }, kernel.Cublas);
        using var inputs = new Inputs(this, m, n, k);
        using var gemm = NewGemm(policy);
        inputs.Output.FillBytes(0xFF);
        gemm.Run(kernel, inputs.X, inputs.W, [inputs.Bias, inputs.Residual], [inputs.Output], m, DType.Float16);
        Assert.Equal(policy == GemmPolicy.Generated ? GemmPath.Generated : GemmPath.CublasLt, gemm.LastPath);
        Assert.False(gemm.LastRunUsedEpilogueKernel);
        using var expected = (CpuTensor)CpuBackend.Instance.Gemm(kernel, m, DType.Float16, inputs.XHost, inputs.WHost, inputs.BiasHost, inputs.ResidualHost)[0];
        using var actual = inputs.Output.ToHost();
        KernelChecks.AssertClose(actual, expected, Tolerance, $"{policy} {kernel.Name} m={m}");
    }

    /// <summary>
    /// cast_io(x·wᵀ + bias + residual): the output has the run's input/output type, so the template is compiled once per io type
    /// (FUSION_IO_HALF 0 and 1) and the epilogue kernel likewise; fp16 operands either way.
    /// </summary>
    [Theory]
    [InlineData(GemmPolicy.Generated, DType.Float16)]
    [InlineData(GemmPolicy.Generated, DType.Float32)]
    [InlineData(GemmPolicy.CublasLt, DType.Float16)]
    [InlineData(GemmPolicy.CublasLt, DType.Float32)]
    public void EpilogueWritingTheIoTypeRunsInBothTypes(GemmPolicy policy, DType io)
    {
        const int m = 197, n = 96, k = 384;
        var custom = CustomGemms.ResidualCastToIo(n, k);
        var kernel = custom.Kernel;
        Assert.True(kernel.Epilogue.UsesIoType);
        Assert.Equal(["bias", "residual"], custom.EpilogueInputs);
        using var inputs = new Inputs(this, m, n, k);
        using var output = CudaTensor.Empty(Device, io, m, n);
        using var gemm = NewGemm(policy);
        output.FillBytes(0xFF);
        gemm.Run(kernel, inputs.X, inputs.W, [inputs.Bias, inputs.Residual], [output], m, io);
        // cuBLASLt's own epilogue (bias, residual as C) stores fp16: with fp16 io it finishes the call; with float32 io the
        // product and the epilogue kernel do (the sum is rounded to fp16 first, as the plan's types say, then stored as float32).
        Assert.Equal(policy == GemmPolicy.CublasLt && io == DType.Float32, gemm.LastRunUsedEpilogueKernel);
        using var expected = (CpuTensor)CpuBackend.Instance.Gemm(kernel, m, io, inputs.XHost, inputs.WHost, inputs.BiasHost, inputs.ResidualHost)[0];
        Assert.Equal(io, expected.DType);
        using var actual = output.ToHost();
        KernelChecks.AssertClose(actual, expected, Tolerance, $"{policy} {kernel.Name} io {io.ShortName()}");
    }

    /// <summary>
    /// Every tile fast-run may pick (the Hopper ones on compute capability 9.0, and the split-K ones whether FUSION_GEMM_SPLITK offers them
    /// or not: clusters of 2, 4 and 8 blocks over 2 … 37 k-steps, uneven shares included), on odd m and N (edge tiles in both directions), with the full epilogue.
    /// </summary>
    [Theory]
    [InlineData(1, 384, 96)]
    [InlineData(77, 96, 384)]
    [InlineData(197, 30, 36)]
    [InlineData(3136, 288, 96)]
    [InlineData(333, 200, 1160)] // deep K (37 k-steps through the wide tiles' three stages), a part column tile
    [InlineData(97, 130, 203)]   // K not a multiple of 8: x read element by element, the weight padded, in every tile
    [InlineData(40000, 136, 392)] // 313 row tiles: the persistent Hopper TMA blocks walk several tiles each (both ping-pong warpgroups work), K = 6 k-steps and a part one
    public void EveryTileMatchesTheCpuBackend(int m, int n, int k)
    {
        using var inputs = new Inputs(this, m, n, k);
        using var gemm = NewGemm(GemmPolicy.Generated);
        var kernel = GemmKernels.Linear(n, k, bias: true, Activation.Gelu, residual: true);
        foreach (var tile in GemmTile.CandidatesFor(kernel, Device.ComputeCapability, splitK: true))
        {
            inputs.Output.FillBytes(0xFF);
            gemm.RunWith(GemmPath.Generated, kernel, inputs.X, inputs.W, inputs.EpilogueInputs(true, true), [inputs.Output], m, DType.Float16, tile: tile);
            Assert.Equal(tile, gemm.LastTile);
            inputs.AssertOutputMatches(kernel, true, true, $"{kernel.Name} tile {tile} m={m}");
        }
    }

    /// <summary>The cached policy measures nothing: cuBLASLt until a fast-run decision exists, then that decision (path and tile).</summary>
    [Fact]
    public void CachedPolicyUsesAFastRunDecisionElseCublasLt()
    {
        const int m = 197, n = 96, k = 96;
        var choices = Directory.CreateTempSubdirectory("fusion-gemm-choice-").FullName;
        using var inputs = new Inputs(this, m, n, k);
        var kernel = GemmKernels.Linear(n, k, bias: true, Activation.None, residual: false);
        using (var cached = NewGemm(GemmPolicy.Cached, choices))
        {
            cached.Run(kernel, inputs.X, inputs.W, inputs.EpilogueInputs(true, false), [inputs.Output], m, DType.Float16);
            Assert.Equal(GemmPath.CublasLt, cached.LastPath);
            Assert.Equal(0, cached.Measurements);
            Assert.False(File.Exists(cached.Choices.PathFor(cached.ChoiceKey(m, kernel))));
        }
        GemmChoice decided;
        using (var fast = NewGemm(GemmPolicy.FastRun, choices))
        {
            fast.Run(kernel, inputs.X, inputs.W, inputs.EpilogueInputs(true, false), [inputs.Output], m, DType.Float16);
            Assert.True(fast.Choices.TryGet(fast.ChoiceKey(m, kernel), out decided));
            Assert.Contains($"|hdr={KernelJit.HeadersKey}|", fast.ChoiceKey(m, kernel)); // a changed generated.cuh asks again
            // Fast-run timed the heuristic's algorithms and kept one of them (the cached run below runs it).
            Assert.InRange(decided.Algorithm, 0, CublasLt.DefaultCandidates - 1);
        }
        using (var cached = NewGemm(GemmPolicy.Cached, choices))
        {
            inputs.Output.FillBytes(0xFF);
            cached.Run(kernel, inputs.X, inputs.W, inputs.EpilogueInputs(true, false), [inputs.Output], m, DType.Float16);
            Assert.Equal(decided.Path, cached.LastPath);
            Assert.Equal(decided.Path == GemmPath.Generated ? decided.Tile : null, cached.LastTile);
            Assert.Equal(0, cached.Measurements);
            inputs.AssertOutputMatches(kernel, true, false, "cached decision");
        }
        Directory.Delete(choices, recursive: true);
    }

    /// <summary>x [2, 7, 5, K] is 70 rows: the GEMM flattens the leading axes, and the epilogue (rows = the batch) runs at batch 70.</summary>
    [Fact]
    public void LeadingDimensionsFlattenIntoRows()
    {
        const int n = 96, k = 96, rows = 2 * 7 * 5;
        using var inputs = new Inputs(this, rows, n, k);
        using var gemm = NewGemm(GemmPolicy.Generated);
        using var x = Upload(inputs.XHost.Span<Half>().ToArray(), 2, 7, 5, k);
        using var output = CudaTensor.Empty(Device, DType.Float16, 2, 7, 5, n);
        output.FillBytes(0xFF);
        var kernel = GemmKernels.Linear(n, k, bias: true, Activation.Gelu, residual: false);
        gemm.Run(kernel, x, inputs.W, inputs.EpilogueInputs(true, false), [output], rows, DType.Float16);
        using var expected = inputs.Reference(kernel, true, false);
        using var actual = output.ToHost();
        Assert.Equal(new Shape(2, 7, 5, n), actual.Shape);
        using var flat = CpuTensor.FromArray(actual.Span<Half>(), rows, n);
        KernelChecks.AssertClose(flat, expected, Tolerance, "[2, 7, 5, 96] input");
    }

    [Fact]
    public void FastRunMeasuresOnceAndRemembersOnDisk()
    {
        const int m = 3136, n = 384, k = 96;
        var choices = Directory.CreateTempSubdirectory("fusion-gemm-choice-").FullName;
        var warnings = new List<string>();
        using var inputs = new Inputs(this, m, n, k);
        var kernel = GemmKernels.Linear(n, k, bias: true, Activation.Gelu, residual: false);
        GemmPath first;
        using (var gemm = NewGemm(GemmPolicy.FastRun, choices, warnings.Add))
        {
            gemm.Run(kernel, inputs.X, inputs.W, inputs.EpilogueInputs(true, false), [inputs.Output], m, DType.Float16);
            Assert.Equal(1, gemm.Measurements);
            first = gemm.LastPath!.Value;
            var file = gemm.Choices.PathFor(gemm.ChoiceKey(m, kernel));
            Assert.True(File.Exists(file), $"no choice file {file}");
            var stored = GemmChoiceCache.Parse(File.ReadAllText(file), gemm.ChoiceKey(m, kernel), out var problem);
            Assert.True(stored is not null, problem);
            Assert.Equal(first, stored.Path);
            Assert.True(stored.GeneratedMicroseconds > 0 && stored.CublasLtMicroseconds > 0, File.ReadAllText(file));
            inputs.AssertOutputMatches(kernel, true, false, "fast-run first call");

            inputs.Output.FillBytes(0xFF);
            gemm.Run(kernel, inputs.X, inputs.W, inputs.EpilogueInputs(true, false), [inputs.Output], m, DType.Float16);
            Assert.Equal(1, gemm.Measurements); // remembered in memory
            Assert.Equal(first, gemm.LastPath);
            inputs.AssertOutputMatches(kernel, true, false, "fast-run second call");
        }
        using (var again = NewGemm(GemmPolicy.FastRun, choices, warnings.Add))
        {
            again.Run(kernel, inputs.X, inputs.W, inputs.EpilogueInputs(true, false), [inputs.Output], m, DType.Float16);
            Assert.Equal(0, again.Measurements); // read from disk
            Assert.Equal(first, again.LastPath);
        }
        Assert.Empty(warnings);
        Directory.Delete(choices, recursive: true);
    }

    [Fact]
    public void CorruptChoiceFileIsIgnoredWithAWarningAndRewritten()
    {
        const int m = 64, n = 96, k = 384;
        var choices = Directory.CreateTempSubdirectory("fusion-gemm-choice-").FullName;
        var warnings = new List<string>();
        using var inputs = new Inputs(this, m, n, k);
        var kernel = GemmKernels.Linear(n, k, bias: true, Activation.None, residual: true);
        using (var gemm = NewGemm(GemmPolicy.FastRun, choices, warnings.Add))
        {
            var file = gemm.Choices.PathFor(gemm.ChoiceKey(m, kernel));
            File.WriteAllText(file, "fusion-gemm-choice 1\nkey something else\npath maybe\n\0\0\0");
            inputs.Output.FillBytes(0xFF);
            gemm.Run(kernel, inputs.X, inputs.W, inputs.EpilogueInputs(true, true), [inputs.Output], m, DType.Float16);
            Assert.Equal(1, gemm.Measurements);
            var warning = Assert.Single(warnings);
            Assert.Contains("corrupt", warning);
            Assert.Contains(file, warning);
            Assert.NotNull(GemmChoiceCache.Parse(File.ReadAllText(file), gemm.ChoiceKey(m, kernel), out _));
            inputs.AssertOutputMatches(kernel, true, true, "after a corrupt choice file");
        }
        Directory.Delete(choices, recursive: true);
    }

    /// <summary>
    /// A choice file naming a cuBLASLt algorithm the heuristic does not offer for the shape (index 15 of at most 8) is not fatal: the
    /// product runs cuBLASLt's first guess and gives the reference, one warning names the algorithm, and the file is repaired to it.
    /// </summary>
    [Fact]
    public void ARememberedAlgorithmCublasLtDoesNotOfferFallsBackToItsFirstGuess()
    {
        const int m = 97, n = 96, k = 192;
        var choices = Directory.CreateTempSubdirectory("fusion-gemm-choice-").FullName;
        var warnings = new List<string>();
        using var inputs = new Inputs(this, m, n, k);
        var kernel = GemmKernels.Linear(n, k, bias: true, Activation.Gelu, residual: true);
        using (var cached = NewGemm(GemmPolicy.Cached, choices, warnings.Add))
        {
            var key = cached.ChoiceKey(m, kernel);
            cached.Choices.Store(key, new GemmChoice(GemmPath.CublasLt, GemmTile.Default(n), 10, 5, Algorithm: 15));
            foreach (int call in new[] { 1, 2 })
            {
                inputs.Output.FillBytes(0xFF);
                cached.Run(kernel, inputs.X, inputs.W, inputs.EpilogueInputs(true, true), [inputs.Output], m, DType.Float16);
                Assert.Equal(GemmPath.CublasLt, cached.LastPath);
                inputs.AssertOutputMatches(kernel, true, true, $"stale algorithm, call {call}");
            }
            var warning = Assert.Single(warnings); // the second call reads the repaired choice
            Assert.Contains("algorithm 15", warning);
            Assert.Contains(kernel.Name, warning);
            Assert.True(cached.Choices.TryGet(key, out var repaired));
            Assert.Equal(0, repaired.Algorithm);
            Assert.Contains("cublaslt_algorithm 0\n", File.ReadAllText(cached.Choices.PathFor(key)));
        }
        Directory.Delete(choices, recursive: true);
    }

    /// <summary>The choice key holds the kernel source (so the epilogue): two epilogues of one shape are timed and remembered apart.</summary>
    [Fact]
    public void ChoiceKeyFollowsTheEpilogue()
    {
        using var gemm = NewGemm(GemmPolicy.Cached);
        var plain = GemmKernels.Linear(96, 384, bias: true, Activation.None, residual: true);
        var scaled = CustomGemms.LayerScaleResidual(96, 384).Kernel;
        Assert.NotEqual(gemm.ChoiceKey(64, plain), gemm.ChoiceKey(64, scaled));
        Assert.NotEqual(gemm.ChoiceKey(64, plain), gemm.ChoiceKey(65, plain));
        Assert.Equal(gemm.ChoiceKey(64, plain), gemm.ChoiceKey(64, GemmKernels.Linear(96, 384, bias: true, Activation.None, residual: true)));
    }

    /// <summary>What a policy's first pass certainly compiles: the template's default tile (per io type) and, for cuBLASLt, the epilogue kernel when cuBLASLt has no epilogue of its own.</summary>
    [Fact]
    public void SourcesListWhatAFirstPassCompiles()
    {
        var linear = GemmKernels.Linear(96, 384, bias: true, Activation.Gelu, residual: false);
        var scaled = CustomGemms.LayerScaleResidual(96, 384).Kernel;
        var io = CustomGemms.ResidualCastToIo(96, 384).Kernel;
        using (var generated = NewGemm(GemmPolicy.Generated))
        {
            Assert.Equal([linear.Name], generated.Sources(linear).Select(s => s.Name));
            Assert.Equal([scaled.Name], generated.Sources(scaled).Select(s => s.Name));
            Assert.Equal([io.Name + "_io32", io.Name + "_io16"], generated.Sources(io).Select(s => s.Name));
            Assert.Equal(["-DFUSION_IO_HALF=1"], generated.Sources(io)[1].Options);
        }
        using (var cublas = NewGemm(GemmPolicy.CublasLt))
        {
            Assert.Empty(cublas.Sources(linear));
            Assert.Equal([scaled.Epilogue.Name], cublas.Sources(scaled).Select(s => s.Name));
        }
        using (var fast = NewGemm(GemmPolicy.FastRun))
            Assert.Equal([scaled.Epilogue.Name, scaled.Name], fast.Sources(scaled).Select(s => s.Name));
    }

    [Fact]
    public void OperandsThatDoNotMatchTheKernelAreRejected()
    {
        using var inputs = new Inputs(this, 8, 30, 36);
        using var gemm = NewGemm(GemmPolicy.Generated);
        var wide = GemmKernels.Linear(31, 36, bias: true, Activation.Gelu, residual: false);
        var mismatch = Assert.Throws<TensorMismatchException>(() => gemm.Run(wide, inputs.X, inputs.W, inputs.EpilogueInputs(true, false), [inputs.Output], 8, DType.Float16));
        Assert.Contains("weight", mismatch.Message);
        var gelu = GemmKernels.Linear(30, 36, bias: true, Activation.Gelu, residual: false);
        using var narrowX = CudaTensor.Empty(Device, DType.Float16, 8, 35);
        mismatch = Assert.Throws<TensorMismatchException>(() => gemm.Run(gelu, narrowX, inputs.W, inputs.EpilogueInputs(true, false), [inputs.Output], 8, DType.Float16));
        Assert.Contains("x", mismatch.Message);
        Assert.Contains("[..., 36]", mismatch.Message);
        Assert.Equal(0, gemm.PaddedWeights);

        // Through the backend, the epilogue's operands are checked against its IR's buffers before anything runs.
        using var cuda = new CudaBackend(Device, new KernelCache(kernels.Path), GemmPolicy.Generated);
        var full = GemmKernels.Linear(30, 36, bias: true, Activation.Gelu, residual: true);
        var e = Assert.Throws<FusionException>(() => cuda.Gemm(full, 8, DType.Float16, inputs.X, inputs.W, inputs.Bias));
        Assert.Contains("epilogue takes 2 inputs, 1 given", e.Message);
        using var shortBias = CudaTensor.Empty(Device, DType.Float16, 29);
        var bias = Assert.Throws<TensorMismatchException>(() => cuda.Gemm(full, 8, DType.Float16, inputs.X, inputs.W, shortBias, inputs.Residual));
        Assert.Contains("f16[30]", bias.Message);
        var rows = Assert.Throws<TensorMismatchException>(() => cuda.Gemm(full, 9, DType.Float16, inputs.X, inputs.W, inputs.Bias, inputs.Residual));
        Assert.Contains("f16[9, 30]", rows.Message);
        Assert.Equal(0, cuda.Gemms.PaddedWeights);
        Assert.Equal(0, cuda.Generated.Count);
    }

    /// <summary>A weight rewritten in place (as CudaBackend.Param refreshes parameters) reaches the kernel through its padded copy.</summary>
    [Fact]
    public void RefreshedWeightRepadsItsCopyInPlace()
    {
        const int m = 70, n = 37, k = 13;
        using var inputs = new Inputs(this, m, n, k);
        using var gemm = NewGemm(GemmPolicy.Generated);
        var kernel = GemmKernels.Linear(n, k, bias: true, Activation.Relu, residual: false);
        gemm.Run(kernel, inputs.X, inputs.W, inputs.EpilogueInputs(true, false), [inputs.Output], m, DType.Float16);
        Assert.True(gemm.LastRunPaddedWeight);
        inputs.AssertOutputMatches(kernel, true, false, "first weights");

        using (var fresh = KernelChecks.Random(RefSeed(), DType.Float16, n, k))
        {
            inputs.W.CopyFromHost(fresh);
            gemm.RefreshPaddedWeight(inputs.W, fresh);
            inputs.SetWeight(fresh);
        }
        inputs.Output.FillBytes(0xFF);
        gemm.Run(kernel, inputs.X, inputs.W, inputs.EpilogueInputs(true, false), [inputs.Output], m, DType.Float16);
        inputs.AssertOutputMatches(kernel, true, false, "refreshed weights");

        // Without host values the copy is re-read from the device.
        using (var third = KernelChecks.Random(RefSeed(), DType.Float16, n, k))
        {
            inputs.W.CopyFromHost(third);
            inputs.SetWeight(third);
        }
        gemm.RefreshPaddedWeight(inputs.W);
        inputs.Output.FillBytes(0xFF);
        gemm.Run(kernel, inputs.X, inputs.W, inputs.EpilogueInputs(true, false), [inputs.Output], m, DType.Float16);
        inputs.AssertOutputMatches(kernel, true, false, "weights read back");
        Assert.Equal(1, gemm.PaddedWeights);
    }

    private int RefSeed() => Rng.Next();

    private FusedGemm NewGemm(GemmPolicy policy, string? choices = null, Action<string>? warn = null)
        => new(Device, new KernelJit(Device, new KernelCache(kernels.Path)), policy, choiceDirectory: choices ?? CacheDirectory, warn: warn);

    /// <summary>Random fp16 operands on the host (the CPU backend's) and on the device, and the output the GPU writes.</summary>
    private sealed class Inputs : IDisposable
    {
        private readonly int _m;

        public Inputs(FusedGemmTests test, int m, int n, int k)
        {
            _m = m;
            XHost = KernelChecks.Random(test.RefSeed(), DType.Float16, m, k);
            WHost = KernelChecks.Random(test.RefSeed(), DType.Float16, n, k);
            BiasHost = KernelChecks.Random(test.RefSeed(), DType.Float16, n);
            ResidualHost = KernelChecks.Random(test.RefSeed(), DType.Float16, m, n);
            X = CudaTensor.FromHost(test.Device, XHost);
            W = CudaTensor.FromHost(test.Device, WHost);
            Bias = CudaTensor.FromHost(test.Device, BiasHost);
            Residual = CudaTensor.FromHost(test.Device, ResidualHost);
            Output = CudaTensor.Empty(test.Device, DType.Float16, m, n);
        }

        public CpuTensor XHost { get; }

        public CpuTensor WHost { get; private set; }

        public CpuTensor BiasHost { get; }

        public CpuTensor ResidualHost { get; }

        public CudaTensor X { get; }

        public CudaTensor W { get; }

        public CudaTensor Bias { get; }

        public CudaTensor Residual { get; }

        public CudaTensor Output { get; }

        /// <summary>The epilogue inputs of <see cref="GemmKernels.Linear"/>: the bias (if any), then the residual (if any).</summary>
        public CudaTensor[] EpilogueInputs(bool bias, bool residual) =>
            [.. bias ? [Bias] : Array.Empty<CudaTensor>(), .. residual ? [Residual] : Array.Empty<CudaTensor>()];

        /// <summary>The CPU backend's copy of the weight after the test rewrote <see cref="W"/>.</summary>
        public void SetWeight(CpuTensor w)
        {
            WHost.Dispose();
            WHost = CpuTensor.FromArray(w.Span<Half>(), w.Shape.ToArray());
        }

        /// <summary>The CPU backend's result of <paramref name="kernel"/> on the host operands.</summary>
        public CpuTensor Reference(GemmKernel kernel, bool bias, bool residual)
        {
            CpuTensor[] epilogue = [.. bias ? [BiasHost] : Array.Empty<CpuTensor>(), .. residual ? [ResidualHost] : Array.Empty<CpuTensor>()];
            return (CpuTensor)CpuBackend.Instance.Gemm(kernel, _m, DType.Float16, XHost, WHost, epilogue)[0];
        }

        public void AssertOutputMatches(GemmKernel kernel, bool bias, bool residual, string what)
        {
            using var expected = Reference(kernel, bias, residual);
            using var actual = Output.ToHost();
            KernelChecks.AssertClose(actual, expected, Tolerance, what);
        }

        public void Dispose()
        {
            foreach (var t in new Tensor[] { X, W, Bias, Residual, Output, XHost, WHost, BiasHost, ResidualHost }) t.Dispose();
        }
    }
}

/// <summary>The parts of the GEMM that need no GPU: policy parsing, weight padding, kernel names and constants, tiles, cuBLASLt forms.</summary>
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

    /// <summary>Pad rounds N and K up to 8; PadColumns (what the template reads, [N, KW]) only K. Values kept, zeros around.</summary>
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
        var kernel = GemmKernels.Linear(30, k, bias: false, Activation.None, residual: false);
        Assert.Equal(kw, kernel.KW);
        Assert.Contains($"#define FUSION_KW {kw}\n", kernel.CudaSource, StringComparison.Ordinal);
        Assert.Contains($"#define FUSION_K {k}\n", kernel.CudaSource, StringComparison.Ordinal);
        Assert.Contains("#define FUSION_N 30\n", kernel.CudaSource, StringComparison.Ordinal);
    }

    [Fact]
    public void AKernelWithAnotherRowStrideIsRejected()
    {
        var good = GemmKernels.Linear(30, 36, bias: true, Activation.Gelu, residual: false);
        var e = Assert.Throws<FusionException>(() => new GemmKernel(good.Name, 30, 36, 36, good.CudaSource, good.Epilogue, good.Cublas));
        Assert.Contains("KW = 36, expected 40", e.Message);
    }

    [Fact]
    public void KernelNamesSayWhatTheyDo()
    {
        Assert.Equal("gemm_bias_gelu_n384_k96", GemmKernels.Linear(384, 96, bias: true, Activation.Gelu, residual: false).Name);
        Assert.Equal("gemm_bias_add_n96_k384", GemmKernels.Linear(96, 384, bias: true, Activation.None, residual: true).Name);
        Assert.Equal("gemm_relu_add_n37_k13_f32", GemmKernels.Linear(37, 13, bias: false, Activation.Relu, residual: true, DType.Float32).Name);
        Assert.Equal("gemm_bias_gelu_n384_k96_epilogue", GemmKernels.Linear(384, 96, bias: true, Activation.Gelu, residual: false).Epilogue.Name);
        Assert.Equal(96, GemmTile.DefaultColumns(288));
        Assert.Equal(32, GemmTile.DefaultColumns(30));
    }

    /// <summary>Every epilogue <see cref="GemmKernels.Linear"/> builds has a cuBLASLt form, with the bias and the residual found among the epilogue's inputs.</summary>
    [Theory]
    [InlineData(false, Activation.None, false, -1, -1)]
    [InlineData(true, Activation.None, false, 0, -1)]
    [InlineData(true, Activation.Relu, false, 0, -1)]
    [InlineData(true, Activation.Gelu, false, 0, -1)]
    [InlineData(false, Activation.None, true, -1, 0)]
    [InlineData(false, Activation.Gelu, true, -1, 0)]
    [InlineData(true, Activation.Gelu, true, 0, 1)]
    public void LinearEpiloguesHaveTheirCublasLtForm(bool bias, Activation activation, bool residual, int biasInput, int residualInput)
    {
        var kernel = GemmKernels.Linear(96, 384, bias, activation, residual);
        Assert.Equal(new CublasEpilogue(activation, biasInput, residualInput), kernel.Cublas);
        var inputs = kernel.Epilogue.Ir.Inputs.ToList();
        Assert.Single(inputs, b => b.Role == Compiler.BufferRole.Accumulator);
        var others = inputs.Where(b => b.Role != Compiler.BufferRole.Accumulator).Select(b => b.Shape.Count).ToList();
        Assert.Equal([.. bias ? [1] : Array.Empty<int>(), .. residual ? [2] : Array.Empty<int>()], others); // bias [N], residual [rows, N]
        Assert.False(kernel.Epilogue.UsesIoType);
    }

    /// <summary>The residual's place decides the form: before the activation it is cuBLASLt's C; after it, an add after cuBLASLt's call.</summary>
    [Fact]
    public void TheResidualsPlaceAroundTheActivationIsInTheCublasLtForm()
    {
        Assert.Equal(new CublasEpilogue(Activation.Relu, 0, 1) { ResidualFirst = true },
            GemmKernels.Linear(96, 384, bias: true, Activation.Relu, residual: true, residualFirst: true).Cublas);
        Assert.Equal(new CublasEpilogue(Activation.GeluTanh, -1, 0) { ResidualFirst = true },
            GemmKernels.Linear(96, 384, bias: false, Activation.GeluTanh, residual: true, residualFirst: true).Cublas);
        Assert.Equal("gemm_bias_add_relu_n96_k384", GemmKernels.Linear(96, 384, bias: true, Activation.Relu, residual: true, residualFirst: true).Name);
        var after = GemmKernels.Linear(96, 384, bias: true, Activation.Relu, residual: true).Cublas;
        Assert.Equal(new CublasEpilogue(Activation.Relu, 0, 1), after);
        Assert.False(after!.ResidualFirst);
    }

    /// <summary>
    /// A layer scale has no cuBLASLt form; a last cast to the run's io type has one, marked ToIo: it serves where io is the GEMM's
    /// own type (fp16), else the product and the epilogue kernel run (a model's last Linear: one kernel fewer a pass at fp16 io).
    /// </summary>
    [Fact]
    public void ALayerScaleHasNoCublasLtForm_ACastToTheIoTypeHasOneForItsOwnType()
    {
        Assert.Null(CustomGemms.LayerScaleResidual(96, 384).Kernel.Cublas);
        var io = CustomGemms.ResidualCastToIo(96, 384).Kernel;
        Assert.Equal(new CublasEpilogue(Activation.None, 0, 1) { ToIo = true }, io.Cublas);
        Assert.True(io.Epilogue.UsesIoType);
        Assert.Contains("typedef half io_t;", io.CudaSource, StringComparison.Ordinal);
    }

    /// <summary>The hand-built layer-scale kernel on the CPU backend against float64: the reference the GPU tests compare with is right.</summary>
    [Fact]
    public void LayerScaleKernelOnTheCpuMatchesFloat64()
    {
        const int m = 7, n = 30, k = 36;
        var kernel = CustomGemms.LayerScaleResidual(n, k).Kernel;
        var seed = Fusion.Testing.TestData.NewSeed();
        var x = Fusion.Testing.TestData.Random(seed, DType.Float16, m, k);
        var w = Fusion.Testing.TestData.Random(seed + 1, DType.Float16, n, k);
        var b = Fusion.Testing.TestData.Random(seed + 2, DType.Float16, n);
        var s = Fusion.Testing.TestData.Random(seed + 3, DType.Float16, n);
        var r = Fusion.Testing.TestData.Random(seed + 4, DType.Float16, m, n);
        var hosts = new[] { x, w, b, s, r }.Select(t => t.ToCpu(DType.Float16)).ToArray();
        using var result = (CpuTensor)CpuBackend.Instance.Gemm(kernel, m, DType.Float16, hosts[0], hosts[1], hosts[2], hosts[3], hosts[4])[0];
        var expected = new Fusion.Testing.RefTensor([m, n]);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = b.Data[j];
                for (int c = 0; c < k; c++) sum += x.Data[i * k + c] * w.Data[j * k + c];
                expected.Data[i * n + j] = sum * s.Data[j] + r.Data[i * n + j];
            }
        // One rounding to fp16 (half an ulp, 4.9e-4 relative) of a float32 computation.
        Fusion.Testing.Tolerance.AssertClose(result, expected, 1e-3, 1e-3, $"layer scale on the CPU (seed {seed})");
        foreach (var h in hosts) h.Dispose();
    }

    [Fact]
    public void TileCandidatesStartWithTheDefaultAndSpecializeByDefines()
    {
        Assert.Equal([new GemmTile(128, 96), new GemmTile(64, 96), new GemmTile(32, 96), new GemmTile(64, 32),
            new GemmTile(128, 128), new GemmTile(256, 128), new GemmTile(128, 256), new GemmTile(256, 64)], GemmTile.Candidates(384));
        Assert.Equal([new GemmTile(128, 96), new GemmTile(64, 96), new GemmTile(32, 96), new GemmTile(64, 32),
            new GemmTile(128, 128), new GemmTile(256, 128), new GemmTile(256, 64)], GemmTile.Candidates(255));
        Assert.Equal([new GemmTile(128, 64), new GemmTile(64, 64), new GemmTile(32, 64), new GemmTile(64, 32), new GemmTile(256, 64)],
            GemmTile.Candidates(64));
        Assert.Equal([new GemmTile(128, 32), new GemmTile(64, 32), new GemmTile(32, 32)], GemmTile.Candidates(30));
        var kernel = GemmKernels.Linear(96, 96, bias: true, Activation.None, residual: false);
        Assert.Same(kernel.CudaSource, GemmTile.Default(96).Specialize(kernel.CudaSource, 96));
        var small = new GemmTile(32, 32).Specialize(kernel.CudaSource, 96);
        Assert.Contains("#define FUSION_BM 32\n#define FUSION_BN 32\n#define FUSION_KERNEL gemm_bias_n96_k96\n", small, StringComparison.Ordinal);
        Assert.Equal(64, new GemmTile(32, 32).Threads);
        Assert.Equal(2 * 3, new GemmTile(64, 32).Blocks(65, 96));
        Assert.Equal(new GemmTile(64, 96), GemmTile.TryParse("64x96"));
        Assert.Null(GemmTile.TryParse("48x96"));
        // Wide tiles: warps of 64 × 64, three stages in dynamic shared memory, defined for the template.
        var wide = new GemmTile(128, 128).Specialize(kernel.CudaSource, 96);
        Assert.Contains("#define FUSION_BM 128\n#define FUSION_BN 128\n#define FUSION_WARP_ROWS 64\n#define FUSION_WARP_COLS 64\n#define FUSION_STAGES 3\n"
            + "#define FUSION_GEMM_DYNAMIC_SMEM 1\n#define FUSION_KERNEL gemm_bias_n96_k96\n", wide, StringComparison.Ordinal);
        Assert.Equal([128, 256, 256, 128], GemmTile.WideTiles.Select(t => t.Threads));
        Assert.True(new GemmTile(256, 64).Wide);
        Assert.False(new GemmTile(128, 64).Wide);
        Assert.Equal(64, new GemmTile(256, 128).WarpColumns);
        Assert.Equal(3 * (256 + 128) * 80, new GemmTile(256, 128).DynamicSharedBytes);
        Assert.Equal(0, GemmTile.Default(384).DynamicSharedBytes);
        Assert.Equal(new GemmTile(128, 256), GemmTile.TryParse("128x256"));
        // Hopper tiles: two warpgroups (256 threads, warps of 16 rows × all columns), four stages of 128-byte rows, sm_90a.
        Assert.Equal([new GemmTile(128, 256, Wgmma: true), new GemmTile(128, 128, Wgmma: true), new GemmTile(128, 64, Wgmma: true)], GemmTile.HopperTiles);
        Assert.Equal([256, 256, 256], GemmTile.HopperTiles.Select(t => t.Threads));
        Assert.False(new GemmTile(128, 256, Wgmma: true).Wide);
        Assert.Equal(4 * (128 + 256) * 128 + 1024, new GemmTile(128, 256, Wgmma: true).DynamicSharedBytes);
        Assert.Equal("128x256h", new GemmTile(128, 256, Wgmma: true).ToString());
        Assert.Equal(new GemmTile(128, 128, Wgmma: true), GemmTile.TryParse("128x128h"));
        Assert.Null(GemmTile.TryParse("256x128h"));
        Assert.Null(GemmTile.TryParse("128x96h"));
        Assert.Contains("#define FUSION_WARP_ROWS 16\n#define FUSION_WARP_COLS 256\n#define FUSION_STAGES 4\n#define FUSION_GEMM_DYNAMIC_SMEM 1\n#define FUSION_GEMM_WGMMA 1\n",
            new GemmTile(128, 256, Wgmma: true).Specialize(kernel.CudaSource, 96), StringComparison.Ordinal);
        Assert.Equal([.. GemmTile.Candidates(255), new GemmTile(128, 128, Wgmma: true), new GemmTile(128, 64, Wgmma: true)], GemmTile.Candidates(255, hopper: true));
        Assert.Equal(new GemmTile(128, 64, Wgmma: true), GemmTile.TryParse("128x64h"));
        // Hopper tiles run on compute capability 9.0 with x read by 16-byte chunks.
        Assert.True(GemmTile.HopperRuns(GemmKernels.Linear(96, 384, bias: true, Activation.None, residual: false), 90));
        Assert.False(GemmTile.HopperRuns(GemmKernels.Linear(96, 384, bias: true, Activation.None, residual: false), 100));
        Assert.False(GemmTile.HopperRuns(GemmKernels.Linear(96, 203, bias: true, Activation.None, residual: false), 90));
        Assert.False(GemmTile.HopperRuns(GemmKernels.LinearInt8(96, 40, bias: true, Activation.None, residual: false), 90));
        Assert.True(GemmTile.HopperRuns(GemmKernels.LinearInt8(96, 48, bias: true, Activation.None, residual: false), 90));
        // Hopper TMA tiles: the same shapes, a producer warpgroup more, as many stages as 192 KB hold, the epilogue's staging and the
        // mbarriers beside them; persistent (at most one block per SM).
        Assert.Equal(GemmTile.HopperTiles.Select(t => t with { Tma = true }), GemmTile.HopperTmaTiles);
        Assert.Equal([384, 384, 384], GemmTile.HopperTmaTiles.Select(t => t.Threads));
        Assert.Equal([4, 6, 8], GemmTile.HopperTmaTiles.Select(t => t.Stages));
        Assert.Equal(6 * (128 + 128) * 128 + 1024 + 6 * 16 + 16 + 20480, new GemmTile(128, 128, Wgmma: true, Tma: true).DynamicSharedBytes);
        Assert.Equal("128x64t", new GemmTile(128, 64, Wgmma: true, Tma: true).ToString());
        Assert.Equal(new GemmTile(128, 256, Wgmma: true, Tma: true), GemmTile.TryParse("128x256t"));
        Assert.Null(GemmTile.TryParse("128x96t"));
        Assert.Null(GemmTile.TryParse("256x128t"));
        Assert.Equal(132, new GemmTile(128, 128, Wgmma: true, Tma: true).Grid(3136, 3072, 132));
        Assert.Equal(6, new GemmTile(128, 128, Wgmma: true, Tma: true).Grid(333, 200, 132));
        Assert.Equal(6, new GemmTile(128, 128, Wgmma: true).Grid(333, 200, 1));
        Assert.Contains("#define FUSION_STAGES 8\n#define FUSION_GEMM_DYNAMIC_SMEM 1\n#define FUSION_GEMM_WGMMA 1\n#define FUSION_GEMM_TMA 1\n#define FUSION_KERNEL gemm_bias_n96_k96\n",
            new GemmTile(128, 64, Wgmma: true, Tma: true).Specialize(kernel.CudaSource, 96), StringComparison.Ordinal);
        Assert.Equal([.. GemmTile.Candidates(255, hopper: true), new GemmTile(128, 128, Wgmma: true, Tma: true), new GemmTile(128, 64, Wgmma: true, Tma: true),
            new GemmTile(128, 128, Wgmma: true, Tma: true, Pingpong: true), new GemmTile(128, 64, Wgmma: true, Tma: true, Pingpong: true)],
            GemmTile.Candidates(255, hopper: true, tma: true));
        // Ping-pong tiles: the TMA family's block, each multiplying warpgroup a tile of its own (so at most 128 columns).
        Assert.Equal([384, 384], GemmTile.HopperPingpongTiles.Select(t => t.Threads));
        Assert.Equal([6, 8], GemmTile.HopperPingpongTiles.Select(t => t.Stages));
        Assert.Equal("128x128p", GemmTile.HopperPingpongTiles[0].ToString());
        Assert.Equal(GemmTile.HopperPingpongTiles[1], GemmTile.TryParse("128x64p"));
        Assert.Null(GemmTile.TryParse("128x256p"));
        Assert.True(GemmTile.HopperPingpongTiles[0].Runs(GemmKernels.Linear(96, 384, bias: true, Activation.None, residual: false), 90));
        Assert.Contains("#define FUSION_GEMM_TMA 1\n#define FUSION_GEMM_PINGPONG 1\n#define FUSION_KERNEL gemm_bias_n96_k96\n",
            GemmTile.HopperPingpongTiles[0].Specialize(kernel.CudaSource, 96), StringComparison.Ordinal);
        // They read x through a tensor map: a stored matrix with 16-byte rows, or a 1 × 1 stride-1 unpadded convolution's image.
        var linear = GemmKernels.Linear(96, 384, bias: true, Activation.None, residual: false);
        Assert.True(GemmTile.TmaRuns(linear, 90));
        Assert.False(GemmTile.TmaRuns(linear, 89));
        Assert.False(GemmTile.TmaRuns(GemmKernels.Linear(96, 203, bias: true, Activation.None, residual: false), 90));
        Assert.False(GemmTile.TmaRuns(GemmKernels.LinearInt8(96, 40, bias: true, Activation.None, residual: false), 90));
        Assert.True(GemmTile.TmaRuns(GemmKernels.LinearInt8(96, 48, bias: true, Activation.None, residual: false), 90));
        Assert.True(new GemmTile(128, 64, Wgmma: true, Tma: true).Runs(linear, 90));
        Assert.False(new GemmTile(128, 64, Wgmma: true, Tma: true).Runs(linear, 80));
        Assert.True(GemmTile.Default(96).Runs(linear, 80));
        Assert.Equal(GemmTile.Candidates(96, hopper: true, tma: true), GemmTile.CandidatesFor(linear, 90));
        Assert.Equal(GemmTile.Candidates(96), GemmTile.CandidatesFor(linear, 86));
        Assert.Null(GemmTile.TryParse("256x256"));
        Assert.Null(GemmTile.TryParse("256x96"));
        Assert.Null(GemmTile.TryParse("64x"));
    }

    /// <summary>FUSION_CUBLASLT_ALGOS: unset or blank is the default, 1 … 16 is taken, anything else is refused naming the variable.</summary>
    [Fact]
    public void CublasLtCandidateCountIsReadAndChecked()
    {
        Assert.Equal(CublasLt.DefaultCandidates, CublasLt.ParseCandidates(null));
        Assert.Equal(CublasLt.DefaultCandidates, CublasLt.ParseCandidates(" "));
        Assert.Equal(1, CublasLt.ParseCandidates("1"));
        Assert.Equal(16, CublasLt.ParseCandidates("16"));
        foreach (var bad in new[] { "0", "17", "-2", "eight", "4.5" })
            Assert.Contains(CublasLt.CandidatesVariable + "=" + bad, Assert.Throws<FusionException>(() => CublasLt.ParseCandidates(bad)).Message);
    }

    [Fact]
    public void ChoiceFileRoundTripsAndRejectsOtherKeys()
    {
        var choice = new GemmChoice(GemmPath.CublasLt, new GemmTile(64, 32), 12.5, 11.25, Algorithm: 5);
        var text = GemmChoiceCache.Format("k1", choice);
        Assert.Contains("cublaslt_algorithm 5\n", text);
        Assert.Equal(choice, GemmChoiceCache.Parse(text, "k1", out _));
        // The algorithm is an index into a heuristic list of at most 16.
        Assert.Null(GemmChoiceCache.Parse(text.Replace("cublaslt_algorithm 5", "cublaslt_algorithm 16"), "k1", out _));
        Assert.Null(GemmChoiceCache.Parse(text.Replace("cublaslt_algorithm 5", "cublaslt_algorithm -1"), "k1", out _));
        Assert.Null(GemmChoiceCache.Parse(text, "k2", out var problem));
        Assert.Contains("another key", problem);
        Assert.Null(GemmChoiceCache.Parse("garbage", "k1", out _));
        // The ILGPU template's choice (FUSION_KERNELS=auto) keeps its flag; a tile the template does not take is unreadable.
        var ilgpu = new GemmChoice(GemmPath.Generated, new GemmTile(128, 96), 9.5, 11.25, Ilgpu: true);
        var ilgpuText = GemmChoiceCache.Format("k1", ilgpu);
        Assert.Contains("tile 128x96 ilgpu\n", ilgpuText);
        Assert.Equal(ilgpu, GemmChoiceCache.Parse(ilgpuText, "k1", out _));
        Assert.Null(GemmChoiceCache.Parse(ilgpuText.Replace("128x96 ilgpu", "128x96 cuda"), "k1", out var unreadable));
        Assert.Contains("unreadable", unreadable);
    }
}
