using System.Collections.Immutable;
using Fusion.Generator;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Fusion.Generator.Tests;

/// <summary>Compiles model sources against Fusion.Runtime, runs the generator, and exposes what it produced.</summary>
internal sealed class GeneratorHarness
{
    private static readonly ImmutableArray<MetadataReference> s_references = LoadReferences();

    public static CSharpParseOptions ParseOptions { get; } = new(LanguageVersion.Preview);

    public static CSharpCompilation Compile(params string[] sources) =>
        Compile(sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, ParseOptions, path: $"Model{i}.cs")), OutputKind.DynamicallyLinkedLibrary);

    public static CSharpCompilation Compile(IEnumerable<SyntaxTree> trees, OutputKind kind) => CSharpCompilation.Create(
        "Models", trees, s_references, new CSharpCompilationOptions(kind, nullableContextOptions: NullableContextOptions.Enable));

    public static GeneratorDriver CreateDriver() => CSharpGeneratorDriver.Create(
        new[] { new FusionGenerator().AsSourceGenerator() },
        parseOptions: ParseOptions,
        driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    /// <summary>Runs the generator once over <paramref name="sources"/>.</summary>
    public static GeneratorResult Run(params string[] sources) => Run(Compile(sources));

    /// <summary>Runs the generator once over <paramref name="compilation"/>.</summary>
    public static GeneratorResult Run(Compilation compilation)
    {
        var driver = CreateDriver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        var run = driver.GetRunResult();
        return new GeneratorResult(run, output);
    }

    private static ImmutableArray<MetadataReference> LoadReferences()
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        return paths.Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .Append(MetadataReference.CreateFromFile(typeof(Fusion.Module).Assembly.Location))
            .ToImmutableArray();
    }
}

internal sealed record GeneratorResult(GeneratorDriverRunResult Run, Compilation Output)
{
    /// <summary>Diagnostics the generator reported.</summary>
    public ImmutableArray<Diagnostic> Diagnostics => Run.Diagnostics;

    /// <summary>The one generated file's text (fails when there is not exactly one).</summary>
    public string Source => Assert.Single(Run.Results.Single().GeneratedSources).SourceText.ToString();

    /// <summary>Errors from compiling the user's code together with the generated code.</summary>
    public IEnumerable<Diagnostic> CompileErrors =>
        Output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error);

    public Diagnostic Single(string id) => Assert.Single(Diagnostics, d => d.Id == id);
}
