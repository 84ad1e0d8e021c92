using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Fusion.Generator.Tests;

/// <summary>
/// The C# in the user-facing docs compiles as written, usings included: each section's blocks are one program (a block of
/// top-level statements uses the model another block declares), built against Fusion.Runtime with the generator.
/// </summary>
public sealed class ReadmeSnippetTests
{
    public static TheoryData<string, string> Sections()
    {
        var data = new TheoryData<string, string>();
        foreach (var file in new[] { "README.md", Path.Combine("docs", "getting-started.md") })
        {
            var path = Path.Combine(RepoPaths.Root, file);
            if (!File.Exists(path)) continue; // getting-started.md may not have been written yet
            foreach (var section in MarkdownSnippets.CSharpSections(path)) data.Add(file, section.Heading);
        }
        return data;
    }

    /// <summary>
    /// What `dotnet new console` projects compile with (ImplicitUsings enable in Microsoft.NET.Sdk): the snippets are
    /// written for such a project, so `Console` and `Random` need no using, exactly as in the user's editor.
    /// </summary>
    private const string ImplicitUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Net.Http;
        global using System.Threading;
        global using System.Threading.Tasks;
        """;

    [Fact]
    public void TheReadmeHasAModelToCompile() =>
        Assert.Contains(Sections(), row => row.Data.Item1 == "README.md" && row.Data.Item2 == "A model");

    [Theory]
    [MemberData(nameof(Sections))]
    public void SectionCompiles(string file, string heading)
    {
        var section = MarkdownSnippets.CSharpSections(Path.Combine(RepoPaths.Root, file)).Single(s => s.Heading == heading);
        var trees = section.Blocks.Select((block, i) => CSharpSyntaxTree.ParseText(block, GeneratorHarness.ParseOptions, path: $"{heading} block {i + 1}.cs")).ToList();
        trees.Add(CSharpSyntaxTree.ParseText(ImplicitUsings, GeneratorHarness.ParseOptions, path: "ImplicitUsings.g.cs", cancellationToken: TestContext.Current.CancellationToken));
        bool program = trees.Any(t => t.GetCompilationUnitRoot().Members.OfType<GlobalStatementSyntax>().Any());
        var compilation = GeneratorHarness.Compile(trees, program ? OutputKind.ConsoleApplication : OutputKind.DynamicallyLinkedLibrary);

        var result = GeneratorHarness.Run(compilation);
        var errors = result.Diagnostics.Concat(result.CompileErrors).Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()).ToList();
        Assert.True(errors.Count == 0, $"{file} § {heading}:\n" + string.Join("\n", errors));
        Assert.Contains(result.Diagnostics, d => d.Id == "FUS100"); // a model was compiled, not just parsed
    }
}
