using System.Text.Json;
using Fusion;
using Fusion.IO;
using Fusion.Testing;

namespace Fusion.ConvNets.Tests;

/// <summary>
/// A folder written by a sample's python export (samples/ResNet50/python/export_torchvision.py,
/// samples/ConvNeXtTiny/python/export_timm.py): weights.safetensors, input.npy, the reference logits.npy, and manifest.json,
/// which names the model family and the configuration ("full" or "mini") the weights belong to.
/// </summary>
internal sealed class ParityExport : IDisposable
{
    private ParityExport(string folder, string config, CpuTensor input, CpuTensor logits)
    {
        WeightsPath = Path.Combine(folder, "weights.safetensors");
        Config = config;
        Input = input;
        Logits = logits;
    }

    public string WeightsPath { get; }

    /// <summary>The manifest's configuration: "full" or "mini".</summary>
    public string Config { get; }

    public CpuTensor Input { get; }

    public CpuTensor Logits { get; }

    /// <summary>
    /// The export <paramref name="variable"/> points at, of model family <paramref name="family"/> (the manifest's "model");
    /// a visible skip when the variable is unset, saying how to make one with <paramref name="exportCommand"/>.
    /// </summary>
    public static ParityExport Open(string variable, string family, string exportCommand)
    {
        var folder = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrEmpty(folder))
            VisibleSkip.Because($"no {family} export for the parity tests", $"{variable} is not set",
                $"export with `{exportCommand}` and set {variable}=DIR");
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "manifest.json")));
        string found = manifest.RootElement.GetProperty("model").GetString() ?? "";
        if (found != family)
            throw new InvalidOperationException($"{variable}={folder} holds a '{found}' export, not a '{family}' one");
        string config = manifest.RootElement.GetProperty("config").GetString() ?? "";
        return new ParityExport(folder, config, NpyFile.Read(Path.Combine(folder, "input.npy")), NpyFile.Read(Path.Combine(folder, "logits.npy")));
    }

    public void Dispose()
    {
        Input.Dispose();
        Logits.Dispose();
    }
}
