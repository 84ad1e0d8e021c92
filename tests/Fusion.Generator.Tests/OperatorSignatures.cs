using System.Globalization;
using System.Reflection;

namespace Fusion.Generator.Tests;

/// <summary>
/// The public overloads of an <c>F</c> method as C#-like text for docs/operators.md, read by reflection so the table shows
/// what users can call: <c>F.MatMul(Tensor a, Tensor b, bool transposeB = false)</c>, with <c>params</c> and default values.
/// </summary>
internal static class OperatorSignatures
{
    private static readonly Dictionary<Type, string> s_keywords = new()
    {
        [typeof(bool)] = "bool",
        [typeof(int)] = "int",
        [typeof(long)] = "long",
        [typeof(float)] = "float",
        [typeof(double)] = "double",
        [typeof(string)] = "string",
    };

    /// <summary>Every public overload of <c>F.<paramref name="name"/></c> in declaration order; none when F has no such method.</summary>
    public static IReadOnlyList<string> Of(string name) =>
        typeof(F).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Where(m => m.Name == name && !m.IsSpecialName)
            .OrderBy(m => m.MetadataToken) // the order of F.cs, which groups overloads as their authors meant
            .Select(m => $"F.{m.Name}({string.Join(", ", m.GetParameters().Select(Parameter))})")
            .ToList();

    private static string Parameter(System.Reflection.ParameterInfo p)
    {
        var modifier = p.IsDefined(typeof(ParamArrayAttribute)) ? "params " : "";
        var defaultValue = p.HasDefaultValue ? " = " + Literal(p.DefaultValue) : "";
        return $"{modifier}{TypeName(p.ParameterType)} {p.Name}{defaultValue}";
    }

    private static string TypeName(Type t) =>
        t.IsArray ? TypeName(t.GetElementType()!) + "[]" : s_keywords.TryGetValue(t, out var keyword) ? keyword : t.Name;

    private static string Literal(object? value) => value switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        string s => $"\"{s}\"",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
