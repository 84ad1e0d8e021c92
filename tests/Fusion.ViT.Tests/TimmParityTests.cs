using Fusion;
using Fusion.IO;
using Fusion.Testing;
using ViT.Model;

namespace Fusion.ViT.Tests;

/// <summary>
/// Fusion's ViT against timm's: weights exported from timm load by name (strictly: every key, no extra), and the logits
/// match timm's. The vit-mini fixture (samples/ViT/fixtures/vit-mini, made by samples/ViT/python/export_timm.py --config
/// vit-mini) runs everywhere once it is committed; the whole ViT-B/16 runs where FUSION_VIT_PARITY_DIR points at an export.
/// </summary>
public sealed class TimmParityTests
{
    // FP32 against timm's FP32 on the CPU: different summation orders only.
    private const double Atol = 1e-4, Rtol = 1e-3;

    private const string ExportMini =
        "python3 samples/ViT/python/export_timm.py --config vit-mini --out samples/ViT/fixtures/vit-mini --weights-dtype f16 --batch 4";

    [Fact]
    public void MiniFixture_Fp32OnCpu_MatchesTimm()
    {
        var model = new ViTMini();
        var report = model.LoadWeights(Fixture("weights.safetensors"));
        Assert.Equal(ViTMini.Info.Parameters.Count, report.Loaded.Count);
        Assert.All(report.Loaded, l => Assert.Equal(SafetensorsDType.F16, l.StoredAs)); // the fixture stores fp16
        using var input = NpyFile.Read(Fixture("input.npy"));
        using var expected = NpyFile.Read(Fixture("logits.npy"));

        using var logits = model.Run(input);
        Tolerance.AssertClose(logits, RefTensor.FromCpu(expected), Atol, Rtol, "ViTMini logits vs timm");
    }

    [Fact]
    public void MiniFixture_Fp16OnGpu_MatchesTimm()
    {
        var device = CudaTestEnvironment.RequireDevice();
        using var backend = new CudaBackend(device);
        var model = new ViTMini();
        model.LoadWeights(Fixture("weights.safetensors"));
        using var input = NpyFile.Read(Fixture("input.npy"));
        using var expected = NpyFile.Read(Fixture("logits.npy"));
        TimmParity.CheckFp16OnGpu(model, backend, input, expected, "ViTMini");
    }

    /// <summary>The whole ViT-B/16: run `python3 samples/ViT/python/export_timm.py --out DIR` and set FUSION_VIT_PARITY_DIR=DIR.</summary>
    [Fact]
    public void VitB16_Fp32OnCpu_And_Fp16OnGpu_MatchTimm()
    {
        var dir = Environment.GetEnvironmentVariable("FUSION_VIT_PARITY_DIR");
        if (string.IsNullOrEmpty(dir))
            VisibleSkip.Because("no timm export for the whole-model parity", "FUSION_VIT_PARITY_DIR is not set",
                "export ViT-B/16 with samples/ViT/python/export_timm.py --out DIR and set FUSION_VIT_PARITY_DIR=DIR");
        var model = new VisionTransformerBase16();
        model.LoadWeights(Path.Combine(dir, "weights.safetensors"));
        using var input = NpyFile.Read(Path.Combine(dir, "input.npy"));
        using var expected = NpyFile.Read(Path.Combine(dir, "logits.npy"));

        TimmParity.CheckFp32OnCpu(model, input, expected, images: 2, Atol, Rtol, "ViT-B/16");

        if (!CudaTestEnvironment.Availability.IsAvailable && !CudaTestEnvironment.IsRequired) return;
        var device = CudaTestEnvironment.RequireDevice();
        using var backend = new CudaBackend(device);
        TimmParity.CheckFp16OnGpu(model, backend, input, expected, "ViT-B/16");
    }

    /// <summary>
    /// A file of the committed vit-mini fixture, copied beside the test binaries; a visible skip while the fixture has not been
    /// generated yet (it needs torch and timm: <see cref="ExportMini"/>, from the repository root).
    /// </summary>
    private static string Fixture(string file)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "fixtures", "vit-mini");
        if (!Directory.Exists(folder))
            VisibleSkip.Because("no vit-mini fixture", "samples/ViT/fixtures/vit-mini has not been generated", $"generate it with `{ExportMini}`");
        return Path.Combine(folder, file);
    }
}
