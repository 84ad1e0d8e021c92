using Fusion;
using Fusion.Testing;
using SwinTiny;
using SwinTiny.Model;

namespace Fusion.SwinTiny.Tests;

/// <summary>
/// The sample's Swin blocks, compiled by the generator and run on the CPU backend, against an
/// independent float64 reference on fresh random weights and inputs.
/// </summary>
[Collection(nameof(LiveTensorCounting))]
public sealed class SwinBlockTests
{
    // float32 accumulation over K ≤ 384 and a 49-wide softmax: errors near 1e-6 relative to values
    // of order 1; 1e-4 leaves room without hiding an indexing mistake, which would be O(1).
    private const double Atol = 1e-4, Rtol = 1e-4;

    [Fact]
    public void Stage1Blocks_Float32_MatchFloat64Reference()
    {
        int seed = TestData.NewSeed();
        var model = new SwinStage1Blocks();
        RandomWeights.Initialize(model, seed);
        var x = TestData.Random(seed + 1, 2, 56, 56, 96);

        using var input = x.ToCpu();
        using var output = model.Run(input);

        var expected = SwinReference.TwoBlocks(model, x, dim: 96, heads: 3, resolution: 56);
        Tolerance.AssertClose(output, expected, Atol, Rtol, $"SwinStage1Blocks (seed {seed})");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void OddSizedBlocks_Float32_MatchFloat64Reference(int batch)
    {
        int seed = TestData.NewSeed();
        var model = new OddSwinBlocks();
        RandomWeights.Initialize(model, seed);
        var x = TestData.Random(seed + 1, batch, 14, 14, 30);

        using var input = x.ToCpu();
        using var output = model.Run(input);

        var expected = SwinReference.TwoBlocks(model, x, dim: 30, heads: 5, resolution: 14);
        Tolerance.AssertClose(output, expected, Atol, Rtol, $"OddSwinBlocks batch {batch} (seed {seed})");
    }

    [Fact]
    public void OddSizedBlocks_Float16_WithinHalfPrecision()
    {
        // f16 storage of every intermediate (3 roundings of 2^-11 per op, ~20 ops deep): relative L2 under 1e-2.
        int seed = TestData.NewSeed();
        var model = new OddSwinBlocks();
        RandomWeights.Initialize(model, seed);
        var x = TestData.Random(seed + 1, DType.Float16, 2, 14, 14, 30);

        using var input = x.ToCpu(DType.Float16);
        using var output = model.Run(input);
        Assert.Equal(DType.Float16, output.DType);

        var expected = SwinReference.TwoBlocks(model, x, dim: 30, heads: 5, resolution: 14);
        double error = Tolerance.RelativeL2(output, expected);
        Assert.True(error < 1e-2, $"relative L2 error {error:E2} (seed {seed})");
    }

    [Fact]
    public void CompiledRun_MatchesEagerForward()
    {
        // The same Forward body, run eagerly op by op and through the generated, fused plan: the same
        // function in float32, so they agree to rounding (the fused kernels sum in another order).
        int seed = TestData.NewSeed();
        var model = new OddSwinBlocks();
        RandomWeights.Initialize(model, seed);
        using var input = TestData.Random(seed + 1, 2, 14, 14, 30).ToCpu();

        using var compiled = model.Run(input);
        using var eager = model.Forward(input);
        Tolerance.AssertClose(compiled, RefTensor.FromCpu((CpuTensor)eager), 1e-5, 1e-5, $"compiled vs eager (seed {seed})");
    }

    [Fact]
    public void Run_ReleasesEveryIntermediate()
    {
        var model = new OddSwinBlocks();
        RandomWeights.Initialize(model, 7);
        using var input = TestData.Random(TestData.NewSeed(), 2, 14, 14, 30).ToCpu();
        using (model.Run(input)) { } // warm the parameter cache
        long before = CpuTensor.LiveCount;
        model.Run(input).Dispose();
        Assert.Equal(before, CpuTensor.LiveCount);
    }

    [Fact]
    public void EagerForwardInAScope_ReleasesEveryIntermediate()
    {
        // Eager Forward makes a tensor per F call (masks, bias tables, windows, every Linear); the scope frees all but the result.
        var model = new OddSwinBlocks();
        RandomWeights.Initialize(model, 7);
        using var input = TestData.Random(TestData.NewSeed(), 2, 14, 14, 30).ToCpu();
        EagerScope.Run(() => model.Forward(input)).Dispose(); // warm the parameter cache
        long before = CpuTensor.LiveCount;
        using (var output = EagerScope.Run(() => model.Forward(input)))
        {
            Assert.Equal(before + 1, CpuTensor.LiveCount);
            Assert.Equal(input.Shape, output.Shape);
        }
        Assert.Equal(before, CpuTensor.LiveCount);
    }

    [Fact]
    public void WrongInputShape_NamesTheInputAndBothShapes()
    {
        var model = new SwinStage1Blocks();
        using var input = CpuTensor.Zeros(DType.Float32, 2, 56, 56, 95);
        var e = Assert.Throws<TensorMismatchException>(() => model.Run(input));
        Assert.Contains("input 'x' of SwinStage1Blocks", e.Message);
        Assert.Contains("[N, 56, 56, 96]", e.Message);
        Assert.Contains("[2, 56, 56, 95]", e.Message);
    }

    [Fact]
    public void WrongInputDType_IsRejected()
    {
        var model = new OddSwinBlocks();
        using var input = CpuTensor.Zeros(DType.Int32, 1, 14, 14, 30);
        var e = Assert.Throws<TensorMismatchException>(() => model.Run(input));
        Assert.Contains("dtype f32 or f16", e.Message);
        Assert.Contains("i32", e.Message);
    }

    [Fact]
    public void ParameterKeysFollowTimm()
    {
        var keys = new SwinStage1Blocks().NamedParameters().Select(p => p.Key).ToList();
        Assert.Equal(26, keys.Count);
        Assert.Contains("blocks.1.attn.relative_position_bias_table", keys);
        Assert.Contains("blocks.0.mlp.fc2.bias", keys);
        Assert.Equal(SwinStage1Blocks.Info.Parameters.Select(p => p.Key), keys);
    }
}

/// <summary>Tests that count live tensors (a process-wide number) run alone, not beside other test classes.</summary>
[CollectionDefinition(nameof(LiveTensorCounting), DisableParallelization = true)]
public sealed class LiveTensorCounting
{
}
