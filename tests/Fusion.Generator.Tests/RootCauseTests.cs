using Microsoft.CodeAnalysis;

namespace Fusion.Generator.Tests;

/// <summary>
/// A member whose declaration was already reported (FUS005, FUS007, FUS010) is not reported again where Forward uses it:
/// the follow-up FUS005 ("declare it as a field or property with an initializer") would give advice the code already follows.
/// (FUS010 alone: DiagnosticTests, which checks each diagnostic is the only error of its model.)
/// </summary>
public sealed class RootCauseTests
{
    private const string Usings = "using Fusion;\nnamespace Demo;\n";

    [Fact]
    public void LayerWithANonConstantSize_ReportsOnlyFUS007()
    {
        var source = Usings + """
            [FusedModel]
            public partial class Clocked : Module
            {
                public readonly Linear fc = new(System.Environment.ProcessorCount, 4);

                public Tensor Forward([Shape(Dim.Batch, 4)] Tensor x) => F.Linear(x, fc);
            }
            """;
        AssertOnlyError(source, "FUS007", "System.Environment.ProcessorCount");
    }

    [Fact]
    public void SubmoduleWithANonConstantArgument_ReportsOnlyFUS007()
    {
        var source = Usings + """
            public sealed class Block(int dim) : Module
            {
                public readonly Linear fc = new(dim, dim);

                public Tensor Forward(Tensor x) => F.Linear(x, fc);
            }

            [FusedModel]
            public partial class Outer : Module
            {
                public readonly Block[] blocks = [new(System.Environment.ProcessorCount)];
                public readonly Block single = new(System.Environment.ProcessorCount + 1);

                public Tensor Forward([Shape(Dim.Batch, 4)] Tensor x)
                {
                    foreach (var b in blocks) x = b.Forward(x);
                    x = blocks[0].Forward(x);
                    return single.Forward(x);
                }
            }
            """;
        var errors = Errors(source);
        Assert.All(errors, d => Assert.Equal("FUS007", d.Id));
        Assert.Equal(2, errors.Count); // one per initializer, none at the uses
    }

    [Fact]
    public void LayerNotCreatedWithNew_ReportsFUS005Once()
    {
        var source = Usings + """
            [FusedModel]
            public partial class Factory : Module
            {
                public readonly Linear fc = Make();

                private static Linear Make() => new(4, 4);

                public Tensor Forward([Shape(Dim.Batch, 4)] Tensor x) => F.Linear(x, fc);
            }
            """;
        AssertOnlyError(source, "FUS005", "Make()");
    }

    private static void AssertOnlyError(string source, string id, string at)
    {
        var d = Assert.Single(Errors(source));
        Assert.Equal(id, d.Id);
        Assert.Equal(source.IndexOf(at, StringComparison.Ordinal), d.Location.SourceSpan.Start);
    }

    private static List<Diagnostic> Errors(string source) =>
        GeneratorHarness.Run(source).Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
}
