using Microsoft.CodeAnalysis;

namespace Fusion.Generator.Tests;

/// <summary>
/// Forward's parameters become the generated Run's parameters: a name that is a C# keyword (written <c>@in</c>) keeps its
/// '@', and names such as <c>batch</c>, <c>be</c> or <c>input0</c> do not collide with the generated code's own names.
/// </summary>
public sealed class InputNameTests
{
    [Theory]
    [InlineData("@in", "@class")]
    [InlineData("pass", "value")]
    [InlineData("be", "batch")]
    [InlineData("io", "constants")]
    [InlineData("check", "plan")]
    [InlineData("input0", "input1")]
    public void ForwardParameterNamesCompile(string first, string second)
    {
        var source = $$"""
            using Fusion;
            namespace Demo;

            [FusedModel]
            public partial class TwoInputs : Module
            {
                public readonly LayerNorm norm = new(8);

                public Tensor Forward([Shape(Dim.Batch, 3, 8)] Tensor {{first}}, [Shape(Dim.Batch, 3, 8)] Tensor {{second}}) =>
                    F.Add(F.LayerNorm({{first}}, norm), F.Relu({{second}}));
            }
            """;
        var result = GeneratorHarness.Run(source);
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Empty(result.CompileErrors);
        Assert.Contains($"Tensor {first}, global::Fusion.Tensor {second}", result.Source);
    }
}
