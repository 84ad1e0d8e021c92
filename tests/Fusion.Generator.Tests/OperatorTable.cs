using System.Text;
using Fusion.Compiler;

namespace Fusion.Generator.Tests;

/// <summary>
/// docs/operators.md as the operator registry writes it: a table per class with each operator's <c>F</c> signatures, shape
/// rule, float types per backend, what it fuses with and what it computes, all read from the descriptors, <c>F</c> and the
/// scheduler's rules.
/// </summary>
internal static class OperatorTable
{
    public static string Markdown()
    {
        var backends = Enum.GetValues<BackendKind>();
        var backendNames = string.Join(" / ", backends.Select(b => b.ToString().ToUpperInvariant()));
        var text = new StringBuilder();
        text.Append("# Operators\n\n");
        text.Append("Written from the operator registry (`src/Fusion.Core/Ops`), `F` and the scheduler's rules by `OperatorTableTests`; do not edit by hand.\n");
        text.Append("Pointwise, view and reduction operators are fused by the scheduler into generated kernels (docs/architecture.md);\n");
        text.Append("templates are hand-written kernels, some of which take generated epilogues; load-time operators are built once from parameters.\n\n");
        text.Append("- **signature**: every public overload of the `F` method; — for operators only the compiler writes.\n");
        text.Append("- **shape**: the output shape; names in backquotes are the operator's attributes (mostly the `F` method's parameters of that name).\n");
        text.Append($"- **dtypes ({backendNames})**: the float types the operator computes in on each backend; where a precision plan asks for\n");
        text.Append("  one it lacks, the precision pass keeps it in another with casts around it (docs/precision.md).\n");
        text.Append("- **fuses with**: what shares a kernel with it (src/Fusion.Generator/Passes: Scheduler.cs, FusionRules.cs, FusionPass.cs).\n\n");
        text.Append(OperatorFusion.Rules).Append('\n');
        foreach (var group in Ops.All.GroupBy(d => d.Class).OrderBy(g => g.Key))
        {
            text.Append($"\n## {ClassTitle(group.Key)}\n\n");
            text.Append($"| operator | signature | shape | dtypes ({backendNames}) | fuses with | what it computes |\n");
            text.Append("| --- | --- | --- | --- | --- | --- |\n");
            foreach (var d in group.OrderBy(d => d.Name, StringComparer.Ordinal))
            {
                var cells = new[] { d.Name, Signatures(d), d.ShapeRule, Dtypes(d, backends), OperatorFusion.FusesWith(d), d.Summary };
                text.Append("| ").Append(string.Join(" | ", cells.Select(c => c.Replace("|", "\\|")))).Append(" |\n");
            }
        }
        return text.ToString();
    }

    /// <summary>The F overloads, one per line of the cell.</summary>
    private static string Signatures(OpDescriptor d)
    {
        var overloads = OperatorSignatures.Of(d.Name);
        return overloads.Count == 0 ? "—" : string.Join("<br>", overloads.Select(s => $"`{s}`"));
    }

    /// <summary>"f32, f16 / f32, f16": per backend, the compute types the descriptor supports (io is the run's type, no compute type).</summary>
    public static string Dtypes(OpDescriptor d, IEnumerable<BackendKind> backends) =>
        string.Join(" / ", backends.Select(b =>
        {
            var types = Enum.GetValues<FloatType>().Where(t => t is not (FloatType.Io or FloatType.I8 or FloatType.F8) && d.Supports(b, t)).Select(t => t.Short()).ToList();
            return types.Count == 0 ? "none" : string.Join(", ", types);
        }));

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
