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
        CheckFp16(model, backend, input, expected, "ViTMini");
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

        // FP32 on the CPU, on the first images (the CPU path is slow at full size).
        int cpuImages = Math.Min(2, input.Shape[0]), classes = expected.Shape[1];
        using var head = CpuTensor.FromArray(input.Span<float>()[..(cpuImages * 3 * 224 * 224)], cpuImages, 3, 224, 224);
        using var cpuLogits = model.Run(head);
        var firstRows = new RefTensor([cpuImages, classes], RefTensor.FromCpu(expected).Data[..(cpuImages * classes)]);
        Tolerance.AssertClose(cpuLogits, firstRows, Atol, Rtol, "ViT-B/16 FP32 CPU logits vs timm");

        if (!CudaTestEnvironment.Availability.IsAvailable && !CudaTestEnvironment.IsRequired) return;
        var device = CudaTestEnvironment.RequireDevice();
        using var backend = new CudaBackend(device);
        CheckFp16(model, backend, input, expected, "ViT-B/16");
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

    private static int ArgMax<T>(ReadOnlySpan<T> values) where T : IComparable<T>
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i].CompareTo(values[best]) > 0) best = i;
        return best;
    }
}
