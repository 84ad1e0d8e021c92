using Fusion;
using Fusion.IO;
using Fusion.Testing;
using SwinTiny;
using SwinTiny.Model;

namespace Fusion.SwinTiny.Tests;

/// <summary>
/// Precision.Half on the CPU twin through <see cref="ModelSession"/>: an FP32-declared model run with f16 storage,
/// f32 input and output unless the session asks for f16. Bars: relative L2 ≤ 1e-2 against float64 (or timm's fp32
/// logits, or the Float plan), the bound for fp16 storage ~20 operators deep (one rounding of 2⁻¹¹ each).
/// </summary>
[Collection(nameof(LiveTensorCounting))]
public sealed class MixedPrecisionTests
{
    private const double HalfBar = 1e-2;

    private static string Fixture(string file) => Path.Combine(AppContext.BaseDirectory, "fixtures", "swin-mini", file);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Stage1Blocks_Half_WithinTheBar_OfFloat64(bool halfInputOutput)
    {
        int seed = TestData.NewSeed();
        var model = new SwinStage1Blocks();
        RandomWeights.Initialize(model, seed);
        var io = halfInputOutput ? DType.Float16 : DType.Float32;
        var x = TestData.Random(seed + 1, io, 2, 56, 56, 96);
        var session = new ModelSession(model, new SessionOptions(Precision: Precision.Half, HalfInputOutput: halfInputOutput));

        using var input = x.ToCpu(io);
        using var output = session.Run(input);
        Assert.Equal(io, output.DType);

        var expected = SwinReference.TwoBlocks(model, x, 96, 3, 56);
        double error = Tolerance.RelativeL2(output, expected);
        Assert.True(error <= HalfBar, $"SwinStage1Blocks Half, {io.ShortName()} IO: relative L2 {error:E2} > {HalfBar} (seed {seed})");
    }

    [Fact]
    public void Stage1Blocks_Float_WithHalfInputOutput_ComputesInFloat32()
    {
        // f16 in and out, f32 inside: the error is the output's one rounding (2⁻¹¹ relative at most), far under the Half plan's.
        int seed = TestData.NewSeed();
        var model = new SwinStage1Blocks();
        RandomWeights.Initialize(model, seed);
        var x = TestData.Random(seed + 1, DType.Float16, 1, 56, 56, 96);
        var session = new ModelSession(model, new SessionOptions(Precision: Precision.Float, HalfInputOutput: true));
        using var input = x.ToCpu(DType.Float16);
        using var output = session.Run(input);
        Assert.Equal(DType.Float16, output.DType);
        var expected = SwinReference.TwoBlocks(model, x, 96, 3, 56);
        Tolerance.AssertClose(output, expected, 1e-3, 1e-3, $"SwinStage1Blocks Float with f16 IO (seed {seed})");
    }

    [Fact]
    public void SwinMini_Half_MatchesTimm_AndTheFloatPlan()
    {
        var model = new SwinMini();
        model.LoadWeights(Fixture("weights.safetensors"));
        using var image = NpyFile.Read(Fixture("input.npy"));
        using var expected = NpyFile.Read(Fixture("logits.npy"));
        var half = new ModelSession(model, new SessionOptions(Precision: Precision.Half));

        using var logits = half.Run(image);
        Assert.Equal(DType.Float32, logits.DType);
        double error = Tolerance.RelativeL2(logits, RefTensor.FromCpu(expected));
        Assert.True(error <= HalfBar, $"SwinMini Half logits vs timm: relative L2 {error:E2} > {HalfBar}");

        // A fresh random image: the Half plan against the Float plan (which TimmParityTests holds to timm).
        int seed = TestData.NewSeed();
        using var random = TestData.Random(seed, 1, 3, 224, 224).ToCpu();
        using var halfLogits = half.Run(random);
        using var floatLogits = new ModelSession(model).Run(random);
        double drift = Tolerance.RelativeL2(halfLogits, RefTensor.FromCpu((CpuTensor)floatLogits));
        Assert.True(drift <= HalfBar, $"SwinMini Half vs Float on a random image: relative L2 {drift:E2} > {HalfBar} (seed {seed})");
    }

    [Fact]
    public void SwinMini_KeptHead_MatchesTimm_WithHalfInputOutputToo()
    {
        var model = new SwinMiniKeepHead();
        model.LoadWeights(Fixture("weights.safetensors"));
        using var image = NpyFile.Read(Fixture("input.npy"));
        using var expected = NpyFile.Read(Fixture("logits.npy"));
        using var halfImage = (CpuTensor)CpuBackend.Instance.Cast(image, DType.Float16);
        using var logits = new ModelSession(model, new SessionOptions(Precision: Precision.Half, HalfInputOutput: true)).Run(halfImage);
        Assert.Equal(DType.Float16, logits.DType);
        double error = Tolerance.RelativeL2(logits, RefTensor.FromCpu(expected));
        Assert.True(error <= HalfBar, $"SwinMiniKeepHead Half (f16 IO) vs timm: relative L2 {error:E2} > {HalfBar}");
    }

    [Fact]
    public void KeptOperator_RunsInFloat32_UnderHalf()
    {
        int seed = TestData.NewSeed();
        var kept = new KeptOffset();
        var plain = new HalfOffset();
        var x = TestData.Uniform(seed, 1, 1.9, 3, 16);
        var offset = TestData.Uniform(seed + 1, 1e-4, 3e-4, 16);
        var values = offset.Data.Select(v => (float)v).ToArray();
        kept.offset.Load(values);
        plain.offset.Load(values);
        using var input = x.ToCpu();
        var options = new SessionOptions(Precision: Precision.Half);
        using var keptOut = new ModelSession(kept, options).Run(input);
        using var plainOut = new ModelSession(plain, options).Run(input);

        // Kept: exactly the f32 sum (the f32 input read as is, the f32 parameter, one f32 add).
        var expected = new float[x.Count];
        for (int i = 0; i < expected.Length; i++) expected[i] = (float)x.Data[i] + (float)offset.Data[i % 16];
        Assert.Equal(expected, ((CpuTensor)keptOut).ToFloatArray());
        // Not kept: f16 rounding of x, the offset and the sum (ulp 2⁻¹⁰ near 1) loses most of an offset of ~2e-4.
        double error = Tolerance.RelativeL2(plainOut, new RefTensor(x.Shape, expected.Select(v => (double)v).ToArray()));
        Assert.True(error > 1e-5, $"the f16 Add should show f16 rounding, relative L2 {error:E2} (seed {seed})");
    }

    [Fact]
    public void Session_RejectsAnInputOfTheOtherType_NamingIt()
    {
        var model = new OddSwinBlocks();
        using var half = CpuTensor.Zeros(DType.Float16, 1, 14, 14, 30);
        var e = Assert.Throws<TensorMismatchException>(() => new ModelSession(model, new SessionOptions(Precision: Precision.Half)).Run(half));
        Assert.Contains("input 'x' of OddSwinBlocks", e.Message);
        Assert.Contains("dtype f32 (the session's input/output type; set SessionOptions.HalfInputOutput to pass f16)", e.Message);
        Assert.Contains("got f16", e.Message);

        using var single = CpuTensor.Zeros(DType.Float32, 1, 14, 14, 30);
        e = Assert.Throws<TensorMismatchException>(() => new ModelSession(model, new SessionOptions(HalfInputOutput: true)).Run(single));
        Assert.Contains("dtype f16", e.Message);
        Assert.Throws<TensorMismatchException>(() => new ModelSession(model).Run(single, single));
    }

    [Fact]
    public void RunWithoutPrecision_FollowsTheInputType()
    {
        int seed = TestData.NewSeed();
        var model = new OddSwinBlocks();
        RandomWeights.Initialize(model, seed);
        using var x = TestData.Random(seed + 1, DType.Float16, 1, 14, 14, 30).ToCpu(DType.Float16);
        using var implied = model.Run(x);
        using var asked = ((IFusedModel)model).Run([x], null, Precision.Half);
        Assert.Equal(DType.Float16, implied.DType);
        Assert.Equal(((CpuTensor)implied).ToFloatArray(), ((CpuTensor)asked).ToFloatArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void HalfRun_ReleasesEveryIntermediate(bool halfInputOutput)
    {
        var model = new OddSwinBlocks();
        RandomWeights.Initialize(model, 7);
        var io = halfInputOutput ? DType.Float16 : DType.Float32;
        using var input = TestData.Random(TestData.NewSeed(), io, 2, 14, 14, 30).ToCpu(io);
        var session = new ModelSession(model, new SessionOptions(Precision: Precision.Half, HalfInputOutput: halfInputOutput));
        using (session.Run(input)) { } // the parameter cache and constants
        long before = CpuTensor.LiveCount;
        session.Run(input).Dispose();
        Assert.Equal(before, CpuTensor.LiveCount);
    }
}
