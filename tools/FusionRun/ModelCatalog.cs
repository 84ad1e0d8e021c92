using System.Reflection;
using ConvNeXtSample.Model;
using ResNetSample.Model;
using SwinTiny.Model;
using ViT.Model;

namespace Fusion.Run;

/// <summary>
/// The models fusion-run knows: the samples' swin-t (whole classifier), swin-blocks (the first two Swin blocks), swin-t-views (swin-t
/// with each block's output projection storing through its window reverse: [FusedModel(ViewsInGemmEpilogue = true)]), vit-b16
/// (ViT-B/16), resnet-50 (torchvision's ResNet-50) and convnext-t (timm's ConvNeXt-T), or a class from an assembly given
/// with --assembly, named by full or short name, that implements IFusedModel and has a public parameterless constructor.
/// </summary>
internal static class ModelCatalog
{
    /// <summary>A built-in model: how to make it, and its sample's seeded random weights for runs without --weights.</summary>
    private sealed record BuiltIn(Type Type, Func<IFusedModel> Create, Action<IFusedModel, int> RandomWeights);

    private static readonly IReadOnlyDictionary<string, BuiltIn> s_builtIn = new Dictionary<string, BuiltIn>(StringComparer.OrdinalIgnoreCase)
    {
        ["swin-t"] = Of<SwinTransformerTiny>(SwinTiny.RandomWeights.Initialize),
        ["swin-blocks"] = Of<SwinStage1Blocks>(SwinTiny.RandomWeights.Initialize),
        ["vit-b16"] = Of<VisionTransformerBase16>(ViT.RandomWeights.Initialize),
        ["resnet-50"] = Of<ResNet50>(ResNetSample.RandomWeights.Initialize),
        ["convnext-t"] = Of<ConvNeXtTiny>(ConvNeXtSample.RandomWeights.Initialize),
        ["swin-t-views"] = Of<SwinTinyViewsInEpilogue>(SwinTiny.RandomWeights.Initialize),
    };

    public static IReadOnlyCollection<string> BuiltInNames => s_builtIn.Keys.ToArray();

    /// <summary>
    /// Seeded random weights for <paramref name="model"/>: its sample's for a built-in model; Swin's for any other (by key:
    /// ±1/√fan-in for matrices, near 1 for norm scales, small otherwise), which fit any model's parameters.
    /// </summary>
    public static void InitializeRandom(IFusedModel model, int seed)
    {
        var builtIn = s_builtIn.Values.FirstOrDefault(b => b.Type == model.GetType());
        (builtIn?.RandomWeights ?? SwinTiny.RandomWeights.Initialize)(model, seed);
    }

    /// <summary>A new instance of <paramref name="name"/>; a clear error when it is unknown, ambiguous or cannot be made.</summary>
    public static IFusedModel Create(string name, string? assemblyPath)
    {
        if (assemblyPath is null)
        {
            if (s_builtIn.TryGetValue(name, out var builtIn)) return builtIn.Create();
            throw ToolException.BadUsage($"unknown model '{name}' (known: {string.Join(", ", s_builtIn.Keys)}; or give --assembly PATH and a class name)");
        }
        return FromAssembly(name, LoadAssembly(assemblyPath));
    }

    /// <summary>The model type named <paramref name="name"/> (full name, or short name when unique) in <paramref name="assembly"/>.</summary>
    public static IFusedModel FromAssembly(string name, Assembly assembly)
    {
        Type[] types;
        try
        {
            types = assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            types = e.Types.Where(t => t is not null).ToArray()!;
        }
        var models = types.Where(t => t.IsClass && !t.IsAbstract && typeof(IFusedModel).IsAssignableFrom(t)).OrderBy(t => t.FullName, StringComparer.Ordinal).ToList();
        var matches = models.Where(t => t.FullName == name).ToList();
        if (matches.Count == 0) matches = models.Where(t => t.Name == name).ToList();
        string known = models.Count == 0 ? "it has no IFusedModel classes" : "its models: " + string.Join(", ", models.Select(t => t.FullName));
        if (matches.Count == 0)
            throw ToolException.BadUsage($"unknown model '{name}' in {assembly.GetName().Name} ({known})");
        if (matches.Count > 1)
            throw ToolException.BadUsage($"model '{name}' is ambiguous in {assembly.GetName().Name}: {string.Join(", ", matches.Select(t => t.FullName))}; give the full name");
        var type = matches[0];
        if (type.GetConstructor(Type.EmptyTypes) is null)
            throw ToolException.BadUsage($"model {type.FullName} has no public parameterless constructor");
        try
        {
            return (IFusedModel)Activator.CreateInstance(type)!;
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            throw new ToolException(ToolException.Failure, $"creating {type.FullName} failed: {e.InnerException.Message}");
        }
    }

    private static BuiltIn Of<T>(Action<IFusedModel, int> randomWeights) where T : IFusedModel, new() => new(typeof(T), () => new T(), randomWeights);

    private static Assembly LoadAssembly(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw ToolException.BadInput($"--assembly {path}: file not found");
        try
        {
            return Assembly.LoadFrom(full);
        }
        catch (BadImageFormatException)
        {
            throw ToolException.BadInput($"--assembly {path}: not a .NET assembly");
        }
    }
}
