using Fusion;
using Fusion.IO;
using Fusion.Testing;
using ResNetSample.Model;

namespace Fusion.ConvNets.Tests;

/// <summary>
/// Fusion's ResNet against torchvision's: an export of samples/ResNet50/python/export_torchvision.py (ResNet-50, or the
/// mini model with --config mini) loads by name, strictly (every key, no extra), and the logits match torchvision's.
/// Runs where FUSION_RESNET_PARITY_DIR points at the export; the GPU half also needs a CUDA device.
/// </summary>
public sealed class TorchvisionParityTests
{
    // FP32 against torchvision's FP32 on the CPU: different summation orders only.
    private const double Atol = 1e-4, Rtol = 1e-3;

    private const string Variable = "FUSION_RESNET_PARITY_DIR";
    private const string Export = "python3 samples/ResNet50/python/export_torchvision.py [--config mini] --out DIR";

    [Fact]
    public void Fp32OnCpu_MatchesTorchvision()
    {
        using var export = ParityExport.Open(Variable, "resnet", Export);
        var model = Load(export);
        // The whole ResNet-50 is slow on the CPU backend: its first two images; the mini model: all of them.
        int images = export.Config == "mini" ? export.Input.Shape[0] : 2;
        TimmParity.CheckFp32OnCpu(model, export.Input, export.Logits, images, Atol, Rtol, $"ResNet ({export.Config})");
    }

    [Fact]
    public void Fp16OnGpu_MatchesTorchvision()
    {
        using var export = ParityExport.Open(Variable, "resnet", Export);
        var device = CudaTestEnvironment.RequireDevice();
        using var backend = new CudaBackend(device);
        TimmParity.CheckFp16OnGpu(Load(export), backend, export.Input, export.Logits, $"ResNet ({export.Config})");
    }

    private static IFusedModel Load(ParityExport export)
    {
        IFusedModel model = export.Config switch
        {
            "full" => new ResNet50(),
            "mini" => new ResNetMini(),
            _ => throw new InvalidOperationException($"{Variable}: unknown configuration '{export.Config}' (expected full or mini)"),
        };
        var report = model.LoadWeights(export.WeightsPath);
        Assert.Equal(model.Info.Parameters.Count, report.Loaded.Count);
        return model;
    }
}
