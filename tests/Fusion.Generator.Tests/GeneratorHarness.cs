using System.Collections.Immutable;
using Fusion.Generator;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Fusion.Generator.Tests;

/// <summary>Compiles model sources against Fusion.Runtime, runs the generator, and exposes what it produced.</summary>
internal sealed class GeneratorHarness
{
    private static readonly ImmutableArray<MetadataReference> s_references = LoadReferences();

    /// <summary>C# preview with the interceptors namespace opted in, as the package's build/Fusion.props does.</summary>
    public static CSharpParseOptions ParseOptions { get; } = new CSharpParseOptions(LanguageVersion.Preview)
        .WithFeatures([new("InterceptorsNamespaces", "Fusion.Generated")]);

    public static CSharpCompilation Compile(params string[] sources) => Compile(ParseOptions, sources);

    /// <summary>Compiles <paramref name="sources"/> parsed with <paramref name="options"/> (e.g. without the interceptors opt-in).</summary>
    public static CSharpCompilation Compile(CSharpParseOptions options, params string[] sources) =>
        Compile(sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, options, path: $"Model{i}.cs")), OutputKind.DynamicallyLinkedLibrary);

    public static CSharpCompilation Compile(IEnumerable<SyntaxTree> trees, OutputKind kind) => CSharpCompilation.Create(
        "Models", trees, s_references, new CSharpCompilationOptions(kind, nullableContextOptions: NullableContextOptions.Enable));

    public static GeneratorDriver CreateDriver(CSharpParseOptions? options = null) => CSharpGeneratorDriver.Create(
        new[] { new FusionGenerator().AsSourceGenerator() },
        parseOptions: options ?? ParseOptions,
        driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    /// <summary>Runs the generator once over <paramref name="sources"/>.</summary>
    public static GeneratorResult Run(params string[] sources) => Run(Compile(sources));

    /// <summary>Runs the generator once over <paramref name="compilation"/>.</summary>
    public static GeneratorResult Run(Compilation compilation)
    {
        // The driver parses generated files as the compilation's own files were parsed (the generator reads that opt-in).
        var options = compilation.SyntaxTrees.FirstOrDefault()?.Options as CSharpParseOptions;
        var driver = CreateDriver(options).RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
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

    /// <summary>The one generated file's text, the ILGPU kernels' file aside (fails when there is not exactly one).</summary>
    public string Source => Assert.Single(Run.Results.Single().GeneratedSources, s => !s.IsIlgpuFile()).SourceText.ToString();

    /// <summary>The ILGPU kernels' file of the one model, or null when there is none.</summary>
    public string? IlgpuSource => Run.Results.Single().GeneratedSources.Where(s => s.IsIlgpuFile()).Select(s => s.SourceText.ToString()).SingleOrDefault();

    /// <summary>The text of the generated file named <paramref name="hintName"/>, or null when there is none.</summary>
    public string? SourceNamed(string hintName) =>
        Run.Results.Single().GeneratedSources.Where(s => s.HintName == hintName).Select(s => s.SourceText.ToString()).SingleOrDefault();

    /// <summary>Errors from compiling the user's code together with the generated code.</summary>
    public IEnumerable<Diagnostic> CompileErrors =>
        Output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error);

    public Diagnostic Single(string id) => Assert.Single(Diagnostics, d => d.Id == id);
}

internal static class GeneratedSourceExtensions
{
    /// <summary>Whether a generated file is a model's ILGPU kernels (MODEL.Fusion.Ilgpu.g.cs) rather than its forward pass.</summary>
    public static bool IsIlgpuFile(this GeneratedSourceResult source) => source.HintName.EndsWith(".Ilgpu.g.cs", StringComparison.Ordinal);
}
