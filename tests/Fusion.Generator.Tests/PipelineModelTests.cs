using System.Reflection;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Tests;

/// <summary>Pipeline models (the model graph, the eager call sites) must hold plain values only: no symbols, syntax, locations or compilations.</summary>
public sealed class PipelineModelTests
{
    [Theory]
    [InlineData(typeof(ModelGraph))]
    [InlineData(typeof(Interception.EagerCallSite))]
    public void PipelineModelHoldsNoRoslynObjects(Type root)
    {
        var allowed = new HashSet<Type> { typeof(Microsoft.CodeAnalysis.Text.TextSpan), typeof(Microsoft.CodeAnalysis.Text.LinePositionSpan) };
        var seen = new HashSet<Type>();
        var offending = new List<string>();
        Walk(root, root.Name);
        Assert.Empty(offending);

        void Walk(Type type, string path)
        {
            if (!seen.Add(type) || type.IsPrimitive || type == typeof(string) || type.IsEnum) return;
            if (allowed.Contains(type)) return;
            if (type.Namespace?.StartsWith("Microsoft.CodeAnalysis", StringComparison.Ordinal) == true)
            {
                offending.Add($"{path}: {type}");
                return;
            }
            foreach (var arg in type.IsGenericType ? type.GetGenericArguments() : []) Walk(arg, path + "<>");
            if (type.Namespace?.StartsWith("Fusion.Generator", StringComparison.Ordinal) != true) return;
            foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                if (p.GetIndexParameters().Length == 0) Walk(p.PropertyType, path + "." + p.Name);
            }
        }
    }
}
