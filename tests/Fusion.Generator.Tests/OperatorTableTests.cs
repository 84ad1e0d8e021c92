using System.Reflection;
using System.Text;
using Fusion.Compiler;

namespace Fusion.Generator.Tests;

/// <summary>
/// docs/operators.md is the operator registry as a table (name, class, <c>F</c> method, f16 support, summary), written from
/// the descriptors so it cannot drift: a changed registry fails here with the table it should be (accept with
/// FUSION_ACCEPT_SNAPSHOTS=1).
/// </summary>
public sealed class OperatorTableTests
{
    [Fact]
    public void DocsListEveryOperator()
    {
        var path = Path.Combine(RepoPaths.Root, "docs", "operators.md");
        var expected = Table();
        if (Environment.GetEnvironmentVariable("FUSION_ACCEPT_SNAPSHOTS") == "1") File.WriteAllText(path, expected);
        var doc = File.Exists(path) ? File.ReadAllText(path).ReplaceLineEndings("\n") : "";
        Assert.True(doc == expected, $"docs/operators.md is not the registry's table; it should read:\n{expected}");
    }

    [Fact]
    public void EveryUserOperatorHasAnFMethod()
    {
        var missing = Ops.All.Where(d => IsUserOperator(d) && !FMethods.Contains(d.Name)).Select(d => d.Name).ToList();
        Assert.True(missing.Count == 0, "operators without an F method: " + string.Join(", ", missing));
    }

    /// <summary>Pointwise, view and reduction operators, but Cast: the precision pass places casts, users pick a precision plan.</summary>
    /// <summary>The names of F's public operators.</summary>
    private static HashSet<string> FMethods => typeof(F).GetMethods(BindingFlags.Public | BindingFlags.Static).Select(m => m.Name).ToHashSet();

    private static bool IsUserOperator(OpDescriptor d) => d.Class is OpClass.Pointwise or OpClass.View or OpClass.Reduction && d.Name != Ops.Cast.Name;

    private static string Table()
    {
        var fMethods = FMethods;
        var text = new StringBuilder();
        text.Append("# Operators\n\n");
        text.Append("Written from the operator registry (`src/Fusion.Core/Ops`) by `OperatorTableTests`; do not edit by hand.\n");
        text.Append("Pointwise, view and reduction operators are fused by the scheduler into generated kernels (docs/architecture.md);\n");
        text.Append("templates are hand-written kernels that take generated epilogues; load-time operators run once when weights load.\n");
        text.Append("f16 says whether the operator computes in float16 under the Half plan on the CPU / CUDA backend (else it runs in float32 there).\n");
        foreach (var group in Ops.All.GroupBy(d => d.Class).OrderBy(g => g.Key))
        {
            text.Append($"\n## {ClassTitle(group.Key)}\n\n");
            text.Append("| operator | `F` method | operands | f16 (CPU / CUDA) | what it computes |\n");
            text.Append("| --- | --- | --- | --- | --- |\n");
            foreach (var d in group.OrderBy(d => d.Name, StringComparer.Ordinal))
            {
                var f = fMethods.Contains(d.Name) ? $"`F.{d.Name}`" : "—";
                var operands = d.Operands.Count == 0 ? "—" : string.Join(", ", d.Operands);
                var half = $"{YesNo(d.Supports(BackendKind.Cpu, FloatType.F16))} / {YesNo(d.Supports(BackendKind.Cuda, FloatType.F16))}";
                text.Append($"| {d.Name} | {f} | {operands} | {half} | {d.Summary.Replace("|", "\\|")} |\n");
            }
        }
        return text.ToString();
    }

    private static string YesNo(bool b) => b ? "yes" : "no";

    private static string ClassTitle(OpClass c) => c switch
    {
        OpClass.Source => "Sources",
        OpClass.Pointwise => "Pointwise",
        OpClass.View => "Views (layout only)",
        OpClass.Reduction => "Reductions and normalizations",
        OpClass.Template => "Templates",
        OpClass.LoadTime => "Load-time",
        _ => c.ToString(),
    };
}
