using Fusion;
using Fusion.IO;
using Fusion.Testing;
using SwinTiny.Model;

namespace Fusion.SwinTiny.Tests;

/// <summary>
/// Fusion's Swin against timm's: weights exported from timm load by name, and the logits match timm's.
/// The committed fixture (samples/SwinTiny/fixtures/swin-mini, made by samples/SwinTiny/python/export_timm.py with
/// timm 1.0.29) runs everywhere; the full Swin-T runs where FUSION_PARITY_DIR points at a fresh export.
/// </summary>
public sealed class TimmParityTests
{
    // FP32 against timm's FP32 on the CPU: different summation orders only.
    private const double Atol = 1e-4, Rtol = 1e-3;

    private static string Fixture(string file) => Path.Combine(AppContext.BaseDirectory, "fixtures", "swin-mini", file);

    [Fact]
    public void MiniFixture_Fp32OnCpu_MatchesTimm()
    {
        var model = new SwinMini();
        var report = model.LoadWeights(Fixture("weights.safetensors"));
        Assert.Equal(SwinMini.Info.Parameters.Count, report.Loaded.Count);
        Assert.All(report.Loaded, l => Assert.Equal(SafetensorsDType.F16, l.StoredAs)); // the fixture stores fp16
        using var input = NpyFile.Read(Fixture("input.npy"));
        using var expected = NpyFile.Read(Fixture("logits.npy"));

        using var logits = model.Run(input);
        Tolerance.AssertClose(logits, RefTensor.FromCpu(expected), Atol, Rtol, "SwinMini logits vs timm");
    }

    [Fact]
    public void MiniFixture_Fp16OnGpu_MatchesTimm()
    {
        var device = CudaTestEnvironment.RequireDevice();
        using var backend = new CudaBackend(device);
        var model = new SwinMini();
        model.LoadWeights(Fixture("weights.safetensors"));
        using var input = NpyFile.Read(Fixture("input.npy"));
        using var expected = NpyFile.Read(Fixture("logits.npy"));
        CheckFp16(model, backend, input, expected, "SwinMini");
    }

    /// <summary>The whole Swin-T: run `python3 samples/SwinTiny/python/export_timm.py --out DIR` and set FUSION_PARITY_DIR=DIR.</summary>
    [Fact]
    public void SwinT_Fp32OnCpu_And_Fp16OnGpu_MatchTimm()
    {
        var dir = Environment.GetEnvironmentVariable("FUSION_PARITY_DIR");
        if (string.IsNullOrEmpty(dir))
            Fusion.Testing.VisibleSkip.Because("no timm export for the whole-model parity", "FUSION_PARITY_DIR is not set",
                "export Swin-T with samples/SwinTiny/python/export_timm.py --out DIR and set FUSION_PARITY_DIR=DIR");
        var model = new SwinTransformerTiny();
        model.LoadWeights(Path.Combine(dir, "weights.safetensors"));
        using var input = NpyFile.Read(Path.Combine(dir, "input.npy"));
        using var expected = NpyFile.Read(Path.Combine(dir, "logits.npy"));

        // FP32 on the CPU, on the first images (the CPU path is slow at full size).
        int cpuImages = Math.Min(4, input.Shape[0]);
        using var head = CpuTensor.FromArray(input.Span<float>()[..(cpuImages * 3 * 224 * 224)], cpuImages, 3, 224, 224);
        using var cpuLogits = model.Run(head);
        var expectedHead = RefTensor.FromCpu(expected);
        var firstRows = new RefTensor([cpuImages, expected.Shape[1]], expectedHead.Data[..(cpuImages * expected.Shape[1])]);
        Tolerance.AssertClose(cpuLogits, firstRows, Atol, Rtol, "Swin-T FP32 CPU logits vs timm");

        if (!CudaTestEnvironment.Availability.IsAvailable && !CudaTestEnvironment.IsRequired) return;
        var device = CudaTestEnvironment.RequireDevice();
        using var backend = new CudaBackend(device);
        CheckFp16(model, backend, input, expected, "Swin-T");
    }

    /// <summary>FP16 on the GPU: relative L2 ≤ 1e-2 against timm's FP32 logits, and the same top-1 class for at least 99% of inputs.</summary>
    private static void CheckFp16(IFusedModel model, CudaBackend backend, CpuTensor input, CpuTensor expected, string what)
    {
        using var half = (CpuTensor)CpuBackend.Instance.Cast(input, DType.Float16);
        using var device = backend.FromHost(half);
        using var output = model.Run([device], backend);
        using var logits = backend.ToHost(output);
        var reference = RefTensor.FromCpu(expected);
        double error = Tolerance.RelativeL2(logits, reference);
        Assert.True(error <= 1e-2, $"{what} FP16 logits: relative L2 {error:E2} > 1e-2");

        var actual = logits.ToFloatArray();
        int classes = expected.Shape[1], images = expected.Shape[0], agree = 0;
        for (int i = 0; i < images; i++)
        {
            if (ArgMax(actual.AsSpan(i * classes, classes)) == ArgMax(reference.Data.AsSpan(i * classes, classes))) agree++;
        }
        Assert.True(agree >= Math.Ceiling(0.99 * images), $"{what} FP16: top-1 agrees with timm on {agree} of {images} inputs");
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    private static int ArgMax(ReadOnlySpan<double> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}
