using Microsoft.CodeAnalysis;

namespace Fusion.Generator.Tests;

/// <summary>
/// FUS015: a member read as a compile-time constant in Forward must not be able to change after construction, or the
/// compiled Run (which keeps the initializer) and the eager Forward (which reads the current value) would disagree.
/// </summary>
public sealed class ConstantMemberTests
{
    private const string Usings = "using Fusion;\nnamespace Demo;\n";

    [Theory]
    [InlineData("public float scale = 0.5f;", "is not readonly")]
    [InlineData("internal float scale { get; set; } = 0.5f;", "has a setter")]
    [InlineData("public float scale { get; init; } = 0.5f;", "has an init accessor")]
    [InlineData("private static float scale = 0.5f;", "is not readonly")]
    [InlineData("private readonly float scale = 0.5f; public Scaled() { } public Scaled(float s) { scale = s; }", "is assigned in a constructor")]
    public void MutableMemberUsedAsConstant_IsAnError(string member, string reason)
    {
        var source = ScaledBy(member);
        var result = GeneratorHarness.Run(source);
        var d = Assert.Single(result.Diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Equal("FUS015", d.Id);
        AssertAtUse(d, source, "scale);");
        Assert.Contains("'scale' of 'Scaled' " + reason, d.GetMessage());
        Assert.Contains("make it const or readonly", d.GetMessage());
        Assert.Empty(result.Run.Results.Single().GeneratedSources);
    }

    [Fact]
    public void MutableMemberOfASubmodule_IsReportedAtItsUse()
    {
        var source = Usings + """
            public sealed class Block : Module
            {
                public int shift = 1;

                public Tensor Forward(Tensor x) => F.Roll(x, this.shift, 1);
            }

            [FusedModel]
            public partial class Outer : Module
            {
                public readonly Block block = new();

                public Tensor Forward([Shape(Dim.Batch, 8, 4)] Tensor x) => block.Forward(x);
            }
            """;
        var d = Assert.Single(GeneratorHarness.Run(source).Diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Equal("FUS015", d.Id);
        AssertAtUse(d, source, "this.shift");
        Assert.Contains("'shift' of 'Block' is not readonly", d.GetMessage());
    }

    [Fact]
    public void MutableMemberNotUsedInForward_IsFine()
    {
        var source = Usings + """
            [FusedModel]
            public partial class Counter : Module
            {
                public int calls;
                public float lastScale { get; set; } = 1f;

                public Tensor Forward([Shape(Dim.Batch, 4)] Tensor x) => F.Relu(x);
            }
            """;
        var result = GeneratorHarness.Run(source);
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Empty(result.CompileErrors);
    }

    [Theory]
    [InlineData("private const float scale = 0.5f;")]
    [InlineData("private static readonly float scale = 0.5f;")]
    [InlineData("private readonly float scale = 0.5f;")]
    [InlineData("private float scale { get; } = 0.5f;")]
    [InlineData("private readonly float half = 0.25f; private readonly float scale = 0.5f; public Scaled() { half = 0.75f; }")]
    public void ConstantForms_CompileWithTheirValue(string member)
    {
        var source = ScaledBy(member);
        var result = GeneratorHarness.Run(source);
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Empty(result.CompileErrors);
        Assert.Contains("0.5", result.Source); // the value reached the plan
    }

    /// <summary>A model that multiplies its input by the member <c>scale</c> that <paramref name="member"/> declares.</summary>
    private static string ScaledBy(string member) => Usings + $$"""
        [FusedModel]
        public partial class Scaled : Module
        {
            {{member}}

            public Tensor Forward([Shape(Dim.Batch, 4)] Tensor x) => F.Mul(x, scale);
        }
        """;

    private static void AssertAtUse(Diagnostic d, string source, string textStartingAtUse)
    {
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        int start = source.IndexOf(textStartingAtUse, StringComparison.Ordinal);
        Assert.Equal(start, d.Location.SourceSpan.Start);
    }
}
