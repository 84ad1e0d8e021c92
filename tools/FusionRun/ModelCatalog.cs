using System.Reflection;
using SwinTiny.Model;

namespace Fusion.Run;

/// <summary>
/// The models fusion-run knows: the samples' swin-t (whole classifier) and swin-blocks (the first two Swin blocks),
/// or a class from an assembly given with --assembly, named by full or short name, that implements IFusedModel and
/// has a public parameterless constructor.
/// </summary>
internal static class ModelCatalog
{
    private static readonly IReadOnlyDictionary<string, Func<IFusedModel>> s_builtIn = new Dictionary<string, Func<IFusedModel>>(StringComparer.OrdinalIgnoreCase)
    {
        ["swin-t"] = () => new SwinTransformerTiny(),
        ["swin-blocks"] = () => new SwinStage1Blocks(),
    };

    public static IReadOnlyCollection<string> BuiltInNames => s_builtIn.Keys.ToArray();

    /// <summary>A new instance of <paramref name="name"/>; a clear error when it is unknown, ambiguous or cannot be made.</summary>
    public static IFusedModel Create(string name, string? assemblyPath)
    {
        if (assemblyPath is null)
        {
            if (s_builtIn.TryGetValue(name, out var make)) return make();
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
