using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Fusion.Generator.Tests;

/// <summary>Eager model.Forward(x) calls from users' code are intercepted to run in an EagerScope; no other call is.</summary>
public sealed class EagerInterceptorTests
{
    private const string HintName = "Fusion.EagerForward.g.cs";

    private const string Source = """
        using Fusion;

        namespace Demo;

        [FusedModel]
        public partial class Scaled : Module
        {
            public readonly Linear fc = new(4, 4);

            public Tensor Forward([Shape(Dim.Batch, 4)] Tensor x) => F.Relu(F.Linear(x, fc));

            public Tensor Twice(Tensor x) => Forward(this.Forward(x));
        }

        public sealed class Plain : Module
        {
            public Tensor Forward(Tensor x) => F.Relu(x);
        }

        public static class Caller
        {
            public static Tensor Chain(Scaled model, Plain plain, Tensor x) => plain.Forward(model.Forward(x));

            public static Tensor Repeat(Scaled model, Tensor x)
            {
                var once = model.Forward(x);
                System.Func<Tensor, Tensor> later = model.Forward; // a method group: not a call
                return later(once);
            }
        }
        """;

    [Fact]
    public void CallsFromOutsideTheModel_AreIntercepted_AndNoOtherCall()
    {
        var result = GeneratorHarness.Run(Source);
        Assert.Empty(result.CompileErrors);
        Assert.DoesNotContain(result.Output.GetDiagnostics(TestContext.Current.CancellationToken), d => d.Severity == DiagnosticSeverity.Warning);
        var file = result.SourceNamed(HintName);
        Assert.NotNull(file);
        Assert.Contains("internal static global::Fusion.Tensor Forward(this global::Demo.Scaled model, global::Fusion.Tensor x)", file);

        var intercepted = ForwardCalls(result.Output)
            .Where(c => c.Interceptor is not null)
            .Select(c => (c.File, c.Text, Interceptor: c.Interceptor!.ContainingType.ToDisplayString()))
            .ToList();
        // The two calls in Caller only: not the model's own calls, not Plain's, not the interceptor's own call.
        Assert.Equal([("Model0.cs", "model.Forward(x)"), ("Model0.cs", "model.Forward(x)")], intercepted.Select(c => (c.File, c.Text)));
        Assert.All(intercepted, c => Assert.Equal("Fusion.Generated.EagerForwardInterceptors", c.Interceptor));
        var generatedCalls = ForwardCalls(result.Output).Where(c => c.File.EndsWith(HintName, StringComparison.Ordinal)).ToList();
        Assert.Single(generatedCalls);
        Assert.Null(generatedCalls[0].Interceptor);

        // One interceptor for the model, with one attribute and a comment naming each call.
        Assert.Equal(2, CountOf(file, "[global::System.Runtime.CompilerServices.InterceptsLocation("));
        Assert.Contains($"// Model0.cs({LineOf("model.Forward(x));")},", file);
        Assert.Contains($"// Model0.cs({LineOf("var once = model.Forward(x);")},", file);
        Assert.Equal(1, CountOf(file, "internal static"));
    }

    [Fact]
    public void WithoutCallSites_NoInterceptorFileIsWritten()
    {
        var result = GeneratorHarness.Run(TestModels.TinyMlp);
        Assert.Null(result.SourceNamed(HintName));
        Assert.NotNull(result.Source); // the model's own file, alone
    }

    [Fact]
    public void TheModelFile_DoesNotDependOnCallSites()
    {
        var alone = GeneratorHarness.Run(Source.Replace("public static class Caller", "public static class Unused"));
        var model = alone.Run.Results.Single().GeneratedSources.Single(s => s.HintName != HintName && !s.IsIlgpuFile()).SourceText.ToString();
        var withCalls = GeneratorHarness.Run(Source).Run.Results.Single().GeneratedSources.Single(s => s.HintName != HintName && !s.IsIlgpuFile()).SourceText.ToString();
        Assert.Equal(model, withCalls);
    }

    [Theory]
    [InlineData("Fusion")]
    [InlineData("Other.Namespace;Fusion.Generated")]
    public void AnOptInThatCoversFusionGenerated_IsEnough(string namespaces)
    {
        var options = new CSharpParseOptions(LanguageVersion.Preview).WithFeatures([new("InterceptorsNamespaces", namespaces)]);
        var result = GeneratorHarness.Run(GeneratorHarness.Compile(options, Source));
        Assert.NotNull(result.SourceNamed(HintName));
        Assert.Empty(result.CompileErrors);
        Assert.DoesNotContain(result.Diagnostics, d => d.Id == "FUS016");
    }

    [Fact]
    public void TheInterceptor_RepeatsForwardsParameters_AndReachesAnInternalModel()
    {
        var source = """
            using Fusion;

            namespace Demo;

            [FusedModel]
            internal sealed partial class Pair : Module
            {
                public Tensor Forward([Shape(Dim.Batch, 4)] Tensor x, [Shape(Dim.Batch, 4)] Tensor model) => F.Add(x, model);
            }

            internal static class Caller
            {
                public static Tensor Call(Pair pair, Tensor a, Tensor b) => pair.Forward(a, b);
            }
            """;
        var result = GeneratorHarness.Run(source);
        Assert.Empty(result.CompileErrors);
        var file = result.SourceNamed(HintName)!;
        Assert.Contains("internal static global::Fusion.Tensor Forward(this global::Demo.Pair _model, global::Fusion.Tensor x, global::Fusion.Tensor model)", file);
        Assert.Contains("return scope.Keep(_model.Forward(x, model));", file);
    }

    [Fact]
    public void ACallInAnExpressionTree_IsInterceptedWithoutBreakingTheBuild()
    {
        var source = Source.Replace("public static class Caller", """
            public static class Quoted
            {
                public static System.Linq.Expressions.Expression<System.Func<Tensor>> Call(Scaled model, Tensor x) => () => model.Forward(x);
            }

            public static class Caller
            """);
        var result = GeneratorHarness.Run(source);
        // The compiler accepts an interceptor inside an expression tree (the tree then calls the interceptor).
        Assert.Empty(result.CompileErrors);
        Assert.Equal(3, CountOf(result.SourceNamed(HintName)!, "[global::System.Runtime.CompilerServices.InterceptsLocation("));
        Assert.Equal(3, ForwardCalls(result.Output).Count(c => c.Interceptor is not null));
    }

    private static int LineOf(string text) => Source[..Source.IndexOf(text, StringComparison.Ordinal)].Count(c => c == '\n') + 1;

    private static int CountOf(string text, string part) => (text.Length - text.Replace(part, "").Length) / part.Length;

    /// <summary>Every call of a method named Forward in the compilation, with the interceptor the compiler binds to it.</summary>
    private static IEnumerable<(string File, string Text, IMethodSymbol? Interceptor)> ForwardCalls(Compilation compilation) =>
        from tree in compilation.SyntaxTrees
        let semantic = compilation.GetSemanticModel(tree)
        from call in tree.GetRoot().DescendantNodes().OfType<InvocationExpressionSyntax>()
        where call.Expression is MemberAccessExpressionSyntax { Name.Identifier.ValueText: "Forward" } or IdentifierNameSyntax { Identifier.ValueText: "Forward" }
        select (Path.GetFileName(tree.FilePath), call.ToString(), semantic.GetInterceptorMethod(call, TestContext.Current.CancellationToken));
}
