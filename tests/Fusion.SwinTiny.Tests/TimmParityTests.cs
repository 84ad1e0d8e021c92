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
        TimmParity.CheckFp16OnGpu(model, backend, input, expected, "SwinMini");
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

        TimmParity.CheckFp32OnCpu(model, input, expected, images: 4, Atol, Rtol, "Swin-T");

        if (!CudaTestEnvironment.Availability.IsAvailable && !CudaTestEnvironment.IsRequired) return;
        var device = CudaTestEnvironment.RequireDevice();
        using var backend = new CudaBackend(device);
        TimmParity.CheckFp16OnGpu(model, backend, input, expected, "Swin-T");
    }
}
