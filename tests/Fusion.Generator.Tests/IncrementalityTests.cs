using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Fusion.Generator.Tests;

/// <summary>The pipeline's steps stay cached when an edit does not change a model, and re-run when it does.</summary>
public sealed class IncrementalityTests
{
    private static readonly string[] s_steps = [FusionGenerator.Steps.Extract, FusionGenerator.Steps.Infer, FusionGenerator.Steps.Fuse, FusionGenerator.Steps.Precision];

    [Fact]
    public void UnrelatedFileChangeLeavesEveryStepCached()
    {
        var (first, second) = RunTwice(TestModels.TinyMlp, c => c.AddSyntaxTrees(CSharpSyntaxTree.ParseText("namespace Other; class Unrelated { int x = 1; }", GeneratorHarness.ParseOptions)));
        foreach (var step in s_steps)
        {
            var reasons = Reasons(second, step);
            Assert.NotEmpty(reasons);
            Assert.All(reasons, r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{step}: {r}"));
        }
        Assert.All(second.TrackedOutputSteps.SelectMany(kv => kv.Value).SelectMany(s => s.Outputs),
            o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
        Assert.Equal(first.GeneratedSources.Single(s => !s.IsIlgpuFile()).SourceText.ToString(), second.GeneratedSources.Single(s => !s.IsIlgpuFile()).SourceText.ToString());
    }

    [Fact]
    public void UnrelatedFileChangeLeavesTheEagerCallSitesCached()
    {
        const string caller = "using Fusion;\nnamespace Demo;\nstatic class Use { public static Tensor Go(TinyMlp m, Tensor x) => m.Forward(x); }";
        var (first, second) = RunTwice(TestModels.TinyMlp, c => c.AddSyntaxTrees(CSharpSyntaxTree.ParseText("namespace Other; class Unrelated { int x = 1; }", GeneratorHarness.ParseOptions)), caller);
        var reasons = Reasons(second, FusionGenerator.Steps.EagerCalls);
        Assert.Single(reasons); // the one call site
        Assert.All(reasons, r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, r.ToString()));
        Assert.All(second.TrackedOutputSteps.SelectMany(kv => kv.Value).SelectMany(s => s.Outputs),
            o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
        Assert.Equal(first.GeneratedSources.Select(s => s.SourceText.ToString()), second.GeneratedSources.Select(s => s.SourceText.ToString()));
    }

    [Fact]
    public void EditingTheModelReRunsTheSteps()
    {
        // The counterpart that shows the check above can fail: a changed dimension is a new graph.
        var (_, second) = RunTwice(TestModels.TinyMlp, c =>
        {
            var tree = c.SyntaxTrees.Single();
            var edited = tree.WithChangedText(Microsoft.CodeAnalysis.Text.SourceText.From(tree.ToString().Replace("new(13, 37)", "new(13, 41)")));
            return c.ReplaceSyntaxTree(tree, edited);
        });
        Assert.Contains(IncrementalStepRunReason.Modified, Reasons(second, FusionGenerator.Steps.Extract));
        Assert.Contains("41", second.GeneratedSources.Single(s => !s.IsIlgpuFile()).SourceText.ToString());
    }

    private static (GeneratorRunResult First, GeneratorRunResult Second) RunTwice(string source, Func<Compilation, Compilation> edit, params string[] more)
    {
        var compilation = GeneratorHarness.Compile([source, .. more]);
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        var first = driver.GetRunResult().Results.Single();
        driver = driver.RunGenerators(edit(compilation));
        return (first, driver.GetRunResult().Results.Single());
    }

    private static List<IncrementalStepRunReason> Reasons(GeneratorRunResult result, string step) =>
        result.TrackedSteps[step].SelectMany(s => s.Outputs).Select(o => o.Reason).ToList();
}
