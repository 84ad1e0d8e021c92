using Fusion;
using Fusion.IO;
using Fusion.Testing;

namespace Fusion.ViT.Tests;

/// <summary>
/// A timm-style state dict loads into ViTMini by name; a bad one is refused naming the tensor, the model left as it was
/// (the mechanism is covered in Fusion.Runtime.Tests; here, the ViT's own parameters: the class token and position embedding).
/// </summary>
public sealed class WeightLoadingTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("fusion-vit-tests-");

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public void AStateDictWithEveryKeyLoadsByName()
    {
        int seed = TestData.NewSeed();
        var entries = StateDict(seed, out var values);
        var path = Write(entries);
        var model = new ViTMini();

        var report = model.LoadWeights(path);

        Assert.Equal(entries.Count, report.Loaded.Count);
        foreach (var (key, parameter) in model.NamedParameters())
            Assert.Equal(values[key], parameter.Value.ToFloatArray());
    }

    [Fact]
    public void APositionEmbeddingWithoutTheClassTokenIsRefusedByName()
    {
        // [1, 16, 64]: one position per patch, none for the class token (a no_embed_class model's layout).
        var entries = StateDict(TestData.NewSeed(), out _);
        int index = entries.FindIndex(e => e.Name == "pos_embed");
        entries[index] = SafetensorsEntry.FromFloat32("pos_embed", new float[16 * ViTMini.EmbedDim], [1, 16, ViTMini.EmbedDim], SafetensorsDType.F32);
        var path = Write(entries);
        var model = new ViTMini();
        var before = model.model.pos_embed.Value.ToFloatArray();

        var e = Assert.Throws<WeightFileException>(() => model.LoadWeights(path));

        Assert.Equal("pos_embed", e.Tensor);
        Assert.Contains("tensor 'pos_embed': shape [1, 16, 64] does not match the model's [1, 17, 64]", e.Message);
        Assert.Equal(before, model.model.pos_embed.Value.ToFloatArray());
    }

    [Fact]
    public void AMissingClassTokenIsNamed()
    {
        var entries = StateDict(TestData.NewSeed(), out _).Where(e => e.Name != "cls_token").ToList();
        var e = Assert.Throws<WeightFileException>(() => new ViTMini().LoadWeights(Write(entries)));
        Assert.Equal("cls_token", e.Tensor);
        Assert.Contains("tensor 'cls_token': missing: the model expects [1, 1, 64]", e.Message);
    }

    /// <summary>Every parameter of ViTMini under its timm key, as FP32 random values (returned by key).</summary>
    private static List<SafetensorsEntry> StateDict(int seed, out Dictionary<string, float[]> values)
    {
        var random = new Random(seed);
        values = [];
        var entries = new List<SafetensorsEntry>();
        foreach (var p in ViTMini.Info.Parameters)
        {
            var data = new float[p.ElementCount];
            for (int i = 0; i < data.Length; i++) data[i] = (float)(random.NextDouble() * 2 - 1);
            values[p.Key] = data;
            entries.Add(SafetensorsEntry.FromFloat32(p.Key, data, p.Shape, SafetensorsDType.F32));
        }
        return entries;
    }

    private string Write(IEnumerable<SafetensorsEntry> entries)
    {
        var path = Path.Combine(_folder.FullName, $"{Guid.NewGuid():N}.safetensors");
        SafetensorsWriter.Write(path, entries, new Dictionary<string, string> { ["format"] = "pt" });
        return path;
    }
}
