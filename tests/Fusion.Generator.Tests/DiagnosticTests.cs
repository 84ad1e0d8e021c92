using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Fusion.Generator.Tests;

/// <summary>One test per diagnostic: its ID, its severity and the exact source text it points at.</summary>
public sealed class DiagnosticTests
{
    private const string Usings = "using Fusion;\nnamespace Demo;\n";

    [Fact]
    public void FUS001_ClassNotPartial()
    {
        var source = Usings + """
            [FusedModel]
            public class NotPartial : Module
            {
                public Tensor Forward([Shape(Dim.Batch, 4)] Tensor x) => F.Relu(x);
            }
            """;
        AssertReported(source, "FUS001", "NotPartial", DiagnosticSeverity.Error);
    }

    [Fact]
    public void FUS002_CallThatCannotBeTranslated()
    {
        var source = Usings + """
            [FusedModel]
            public partial class Helpers : Module
            {
                private static Tensor Twice(Tensor t) => t;

                public Tensor Forward([Shape(Dim.Batch, 4)] Tensor x)
                {
                    var h = Twice(x);
                    return F.Relu(h);
                }
            }
            """;
        var d = AssertReported(source, "FUS002", "Twice(x)", DiagnosticSeverity.Error);
        Assert.Contains("only Fusion.F operators", d.GetMessage());
    }

    [Fact]
    public void FUS002_UnsupportedStatement()
    {
        var source = Usings + """
            [FusedModel]
            public partial class Looping : Module
            {
                public Tensor Forward([Shape(Dim.Batch, 4)] Tensor x)
                {
                    while (true) { }
                }
            }
            """;
        AssertReported(source, "FUS002", "while (true) { }", DiagnosticSeverity.Error);
    }

    [Fact]
    public void FUS003_DiscardedResult()
    {
        var source = Usings + """
            [FusedModel]
            public partial class Discards : Module
            {
                public Tensor Forward([Shape(Dim.Batch, 4)] Tensor x)
                {
                    F.Gelu(x);
                    return F.Relu(x);
                }
            }
            """;
        var result = GeneratorHarness.Run(source);
        AssertAt(result.Single("FUS003"), source, "F.Gelu(x)", DiagnosticSeverity.Warning);
        // A warning only: the model still compiles, without the dead call.
        Assert.DoesNotContain("be.Gelu", result.Source);
    }

    [Fact]
    public void FUS003_LocalNeverRead()
    {
        var source = Usings + """
            [FusedModel]
            public partial class DeadLocal : Module
            {
                public Tensor Forward([Shape(Dim.Batch, 4)] Tensor x)
                {
                    var unused = F.Softmax(F.Relu(x));
                    return F.Gelu(x);
                }
            }
            """;
        var result = GeneratorHarness.Run(source);
        // Only the end of the dead chain is reported, not the Relu feeding it.
        AssertAt(result.Single("FUS003"), source, "F.Softmax(F.Relu(x))", DiagnosticSeverity.Warning);
    }

    [Fact]
    public void FUS004_ShapeMismatch()
    {
        var source = Usings + """
            [FusedModel]
            public partial class Mismatch : Module
            {
                public readonly Linear fc = new(13, 5);

                public Tensor Forward([Shape(Dim.Batch, 12)] Tensor x) => F.Linear(x, fc);
            }
            """;
        var d = AssertReported(source, "FUS004", "F.Linear(x, fc)", DiagnosticSeverity.Error);
        Assert.Contains("input [N, 12] has 12 features but the weight is [5, 13]", d.GetMessage());
    }

    /// <summary>A convolution's channels are checked against its layer's at the call (the im2col and grouped windows carry them).</summary>
    [Theory]
    [InlineData("new(3, 8, 3, padding: 1)")]
    [InlineData("new(3, 3, 3, padding: 1, groups: 3)")]
    public void FUS004_ConvolutionOnTheWrongNumberOfChannels(string layer)
    {
        var source = Usings + $$"""
            [FusedModel]
            public partial class WrongChannels : Module
            {
                public readonly Conv2d conv = {{layer}};

                public Tensor Forward([Shape(Dim.Batch, 4, 9, 9)] Tensor x) => F.Conv2d(x, conv);
            }
            """;
        var d = AssertReported(source, "FUS004", "F.Conv2d(x, conv)", DiagnosticSeverity.Error);
        Assert.Contains("input [N, 4, 9, 9] has 4 channels, the layer takes 3", d.GetMessage());
    }

    [Theory]
    [InlineData("new(6, 4, 3, groups: 4)", "groups must divide both channel counts")]
    [InlineData("new(6, 4, 3, padding: -1)", "padding ≥ 0")]
    [InlineData("new(0)", "at least one channel")]
    public void FUS018_InvalidLayerConfiguration(string layer, string message)
    {
        var type = layer == "new(0)" ? "BatchNorm2d" : "Conv2d";
        var call = type == "Conv2d" ? "F.Conv2d(x, layer)" : "F.BatchNorm2d(x, layer)";
        var source = Usings + $$"""
            [FusedModel]
            public partial class BadLayer : Module
            {
                public readonly {{type}} layer = {{layer}};

                public Tensor Forward([Shape(Dim.Batch, 6, 9, 9)] Tensor x) => {{call}};
            }
            """;
        var d = AssertReported(source, "FUS018", layer, DiagnosticSeverity.Error);
        Assert.Contains(message, d.GetMessage());
    }

    [Fact]
    public void FUS004_ReshapeThatLosesTheBatch()
    {
        var source = Usings + """
            [FusedModel]
            public partial class BadReshape : Module
            {
                public Tensor Forward([Shape(Dim.Batch, 6, 5)] Tensor x) => F.Reshape(x, 30, 7);
            }
            """;
        AssertReported(source, "FUS004", "F.Reshape(x, 30, 7)", DiagnosticSeverity.Error);
    }

    [Fact]
    public void FUS005_LayerThatIsNotAMember()
    {
        var source = Usings + """
            [FusedModel]
            public partial class StaticLayer : Module
            {
                private static readonly Linear shared = new(4, 4);

                public Tensor Forward([Shape(Dim.Batch, 4)] Tensor x) => F.Linear(x, shared);
            }
            """;
        AssertReported(source, "FUS005", "shared", DiagnosticSeverity.Error, occurrence: 1);
    }

    [Fact]
    public void FUS006_NoForward()
    {
        var source = Usings + """
            [FusedModel]
            public partial class NoForward : Module
            {
                public Tensor Run2(Tensor x) => x;
            }
            """;
        AssertReported(source, "FUS006", "NoForward", DiagnosticSeverity.Error);
    }

    [Fact]
    public void FUS007_NotConstant()
    {
        var source = Usings + """
            [FusedModel]
            public partial class Clock : Module
            {
                public Tensor Forward([Shape(Dim.Batch, 8, 8)] Tensor x) => F.Roll(x, System.DateTime.Now.Second, 1);
            }
            """;
        AssertReported(source, "FUS007", "System.DateTime.Now.Second", DiagnosticSeverity.Error);
    }

    [Fact]
    public void FUS008_InputWithoutShape()
    {
        var source = Usings + """
            [FusedModel]
            public partial class NoShape : Module
            {
                public Tensor Forward(Tensor image) => F.Relu(image);
            }
            """;
        AssertReported(source, "FUS008", "Tensor image", DiagnosticSeverity.Error);
    }

    [Fact]
    public void FUS009_RootWithConstructorParameters()
    {
        var source = Usings + """
            [FusedModel]
            public partial class Configurable(int dim) : Module
            {
                public readonly Linear fc = new(dim, dim);

                public Tensor Forward([Shape(Dim.Batch, 4)] Tensor x) => F.Linear(x, fc);
            }
            """;
        AssertReported(source, "FUS009", "Configurable", DiagnosticSeverity.Error);
    }

    [Fact]
    public void FUS010_PrivateSubmoduleMember()
    {
        var source = Usings + """
            public sealed class Inner : Module
            {
                private readonly Linear hidden = new(4, 4);

                public Tensor Forward(Tensor x) => F.Linear(x, hidden);
            }

            [FusedModel]
            public partial class Outer : Module
            {
                public readonly Inner inner = new();

                public Tensor Forward([Shape(Dim.Batch, 4)] Tensor x) => inner.Forward(x);
            }
            """;
        AssertReported(source, "FUS010", "hidden = new(4, 4)", DiagnosticSeverity.Error);
    }

    [Fact]
    public void FUS011_RecursiveModule()
    {
        var source = Usings + """
            public sealed class Nest : Module
            {
                public readonly Nest inner = new();

                public Tensor Forward(Tensor x) => inner.Forward(x);
            }

            [FusedModel]
            public partial class Top : Module
            {
                public readonly Nest nest = new();

                public Tensor Forward([Shape(Dim.Batch, 4)] Tensor x) => nest.Forward(x);
            }
            """;
        AssertReported(source, "FUS011", "new()", DiagnosticSeverity.Error);
    }

    [Fact]
    public void FUS012_RootNotAModule()
    {
        var source = Usings + """
            [FusedModel]
            public partial class Plain
            {
                public Tensor Forward([Shape(Dim.Batch, 4)] Tensor x) => F.Relu(x);
            }
            """;
        AssertReported(source, "FUS012", "Plain", DiagnosticSeverity.Error);
    }

    [Fact]
    public void FUS013_SubmoduleFromAnotherAssembly()
    {
        // Compile a module into a library, then use it from a model in another compilation.
        var library = GeneratorHarness.Compile(Usings + """
            public sealed class Shared : Module
            {
                public readonly Linear fc = new(4, 4);

                public Tensor Forward(Tensor x) => F.Linear(x, fc);
            }
            """);
        using var image = new MemoryStream();
        Assert.True(library.Emit(image, cancellationToken: TestContext.Current.CancellationToken).Success);
        var reference = MetadataReference.CreateFromImage(image.ToArray());

        var source = Usings + """
            [FusedModel]
            public partial class UsesShared : Module
            {
                public readonly Shared shared = new();

                public Tensor Forward([Shape(Dim.Batch, 4)] Tensor x) => shared.Forward(x);
            }
            """;
        var compilation = GeneratorHarness.Compile(source).AddReferences(reference);
        var run = GeneratorHarness.CreateDriver().RunGenerators(compilation, TestContext.Current.CancellationToken).GetRunResult();
        var d = Assert.Single(run.Diagnostics, d => d.Id == "FUS013");
        AssertAt(d, source, "shared.Forward(x)", DiagnosticSeverity.Error);
        Assert.Contains("assembly 'Models'", d.GetMessage());
    }

    [Fact]
    public void FUS014_KeepListEntryMatchesNothing()
    {
        var source = Usings + """
            [FusedModel(KeepFloat32 = new[] { "fc", "haed", "F.Softmax" })]
            public partial class Typo : Module
            {
                public readonly Linear fc = new(4, 4);

                public Tensor Forward([Shape(Dim.Batch, 4)] Tensor x) => F.Relu(F.Linear(x, fc));
            }
            """;
        var result = GeneratorHarness.Run(source);
        var errors = result.Diagnostics.Where(d => d.Id == "FUS014").ToList();
        Assert.Equal(2, errors.Count); // "fc" matches the Linear through fc.weight
        AssertAt(errors[0], source, "\"haed\"", DiagnosticSeverity.Error);
        Assert.Contains("KeepFloat32 entry 'haed' of 'Typo' matches nothing: no module, layer or parameter path 'haed'", errors[0].GetMessage());
        AssertAt(errors[1], source, "\"F.Softmax\"", DiagnosticSeverity.Error);
        Assert.Contains("no operator F.Softmax in the compiled graph", errors[1].GetMessage());
        Assert.Empty(result.Run.Results.Single().GeneratedSources); // an error stops the emitter
    }

    [Fact]
    public void FUS100_ModelCompiled()
    {
        var result = GeneratorHarness.Run(TestModels.TinyMlp);
        var d = result.Single("FUS100");
        Assert.Equal(DiagnosticSeverity.Info, d.Severity);
        // fc1+relu and fc2+residual, each one fused GEMM; fc1 and fc2 weights and biases: 13·37 + 37 + 37·13 + 13 values.
        Assert.Equal("Compiled 'TinyMlp': 4 operators, 4 parameter tensors (1012 values)", d.GetMessage());
    }

    [Fact]
    public void ErrorsSuppressTheGeneratedFile()
    {
        var source = Usings + """
            [FusedModel]
            public partial class Mismatch : Module
            {
                public readonly Linear fc = new(13, 5);

                public Tensor Forward([Shape(Dim.Batch, 12)] Tensor x) => F.Linear(x, fc);
            }
            """;
        Assert.Empty(GeneratorHarness.Run(source).Run.Results.Single().GeneratedSources);
    }

    [Fact]
    public void FUS016_EagerCallsNotScoped()
    {
        var source = Usings + """
            [FusedModel]
            public partial class Net : Module
            {
                public Tensor Forward([Shape(Dim.Batch, 4)] Tensor x) => F.Relu(x);
            }

            public static class Caller
            {
                public static Tensor First(Net net, Tensor x) => net.Forward(x);
                public static Tensor Second(Net net, Tensor x) => net.Forward(F.Neg(x));
            }
            """;
        // No InterceptorsNamespaces feature: a project that dropped the package's opt-in.
        var result = GeneratorHarness.Run(GeneratorHarness.Compile(new CSharpParseOptions(LanguageVersion.Preview), source));
        var d = result.Single("FUS016");
        AssertAt(d, source, "net.Forward(x)", DiagnosticSeverity.Warning);
        Assert.StartsWith("2 eager Forward call(s)", d.GetMessage());
        Assert.Null(result.SourceNamed("Fusion.EagerForward.g.cs")); // emitting them would fail the build with CS9137
        Assert.Empty(result.CompileErrors);
    }

    /// <summary>The model reports <paramref name="id"/> at the text, and an error is the only one: no follow-up diagnostic repeats its cause.</summary>
    private static Diagnostic AssertReported(string source, string id, string text, DiagnosticSeverity severity, int occurrence = 0)
    {
        var result = GeneratorHarness.Run(source);
        var d = result.Single(id);
        AssertAt(d, source, text, severity, occurrence);
        if (severity == DiagnosticSeverity.Error)
            Assert.Equal([id], result.Diagnostics.Where(e => e.Severity == DiagnosticSeverity.Error).Select(e => e.Id));
        return d;
    }

    /// <summary>The diagnostic's span is exactly the <paramref name="occurrence"/>-th appearance of <paramref name="text"/>.</summary>
    private static void AssertAt(Diagnostic d, string source, string text, DiagnosticSeverity severity, int occurrence = 0)
    {
        Assert.Equal(severity, d.Severity);
        // Generators report through plain-value locations (no syntax tree kept), so the kind is ExternalFile.
        Assert.True(d.Location.Kind is LocationKind.SourceFile or LocationKind.ExternalFile, $"{d.Id} has no location: {d}");
        Assert.Equal("Model0.cs", d.Location.GetLineSpan().Path);
        int start = -1;
        for (int i = 0; i <= occurrence; i++) start = source.IndexOf(text, start + 1, StringComparison.Ordinal);
        Assert.True(start >= 0, $"'{text}' not found in the test source");
        Assert.Equal(text, source.Substring(d.Location.SourceSpan.Start, d.Location.SourceSpan.Length));
        Assert.Equal(start, d.Location.SourceSpan.Start);
    }
}
