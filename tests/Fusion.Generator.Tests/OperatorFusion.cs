using Fusion.Compiler;
using Fusion.Generator.Passes;

namespace Fusion.Generator.Tests;

/// <summary>
/// What each operator is fused with, in words for docs/operators.md, composed from the scheduler's per-operator rules
/// (<see cref="FusionRules"/>) and the operator's class, so the table says only what the scheduler does.
/// </summary>
internal static class OperatorFusion
{
    /// <summary>
    /// The operators WindowAttentionPattern replaces by a WindowAttention node: softmax(q·kᵀ·scale + bias [+ mask])·v with its
    /// Select, Permute and Reshape layout.
    /// </summary>
    private static readonly OpDescriptor[] s_attentionChain = { Ops.MatMul, Ops.Mul, Ops.Add, Ops.Softmax, Ops.Select, Ops.Permute, Ops.Reshape };

    /// <summary>
    /// The operators AttentionPattern replaces by an Attention node: softmax(q·kᵀ [·/÷ c] [+ bias])·v, kᵀ by MatMul or by
    /// Transpose/Permute, with a packed projection's split (Reshape, Permute, Select) and the head merge (Permute, Reshape).
    /// </summary>
    private static readonly OpDescriptor[] s_sdpaChain = { Ops.MatMul, Ops.Mul, Ops.Div, Ops.Add, Ops.Softmax, Ops.Transpose, Ops.Select, Ops.Permute, Ops.Reshape };

    /// <summary>The scheduler's limits on a generated kernel and its epilogues, stated once above the tables.</summary>
    public static string Rules =>
        $"How the scheduler fuses: an {Either(EpilogueTemplates())} takes as its epilogue the chain of "
        + $"{string.Join(" and ", EpilogueClasses())} operators after it,\n"
        + "each the only reader of the one before and of the template's output shape. The other pointwise, view and reduction\n"
        + $"operators are grouped into generated kernels walking back from the output; a kernel holds at most {Scheduler.MaxGroupSize} operators,\n"
        + "reduces over one axis, stores further values only through views that keep each element once, and computes a pointwise\n"
        + $"value where it is read unless that repeats it over more than {Scheduler.MaxBroadcast}× its elements (then it is stored).\n"
        + "Operators whose inputs are all parameters or constants are grouped apart and run once per backend and precision, outside `Run`.";

    /// <summary>The "fuses with" cell: the rules that apply to <paramref name="op"/>, joined; — where none does.</summary>
    public static string FusesWith(OpDescriptor op)
    {
        var parts = new List<string>();
        if (op == Ops.WindowAttention) parts.Add("made by the fusion pass from Swin's attention chain (" + string.Join(", ", s_attentionChain.Select(o => o.Name)) + ")");
        if (op == Ops.Attention) parts.Add("written as F.Attention, or made by the fusion pass from any scaled dot-product attention (" + string.Join(", ", s_sdpaChain.Select(o => o.Name)) + ")");
        if (op.Class == OpClass.Template && !FusionRules.TakesEpilogue(op)) parts.Add("nothing: a call of its own");
        if (FusionRules.Grouped(op)) parts.Add(InKernel(op));
        if (FusionRules.InEpilogue(op)) parts.Add($"the epilogue of the {Either(EpilogueTemplates())} before it");
        if (FusionRules.PooledInGemmEpilogue(op))
            parts.Add($"with [FusedModel(PoolInGemmEpilogue = true)], the epilogue of the {Ops.Linear.Name} before it (through permutes) when it alone reads that result: accumulated there in float32 (a global pool)");
        if (FusionRules.TakesEpilogue(op)) parts.Add($"the {string.Join(" and ", EpilogueClasses())} operators after it, as its generated epilogue");
        if (FusionRules.RecomputedPerReader(op)) parts.Add("recomputed by each kernel reading it when its input is in memory");
        if (FusionRules.ViewOfMemory(op)) parts.Add("read by no generated kernel, a view of its input's memory (no copy)");
        if (op == Ops.Cast) parts.Add("alone, a cast from or to the run's type is a conversion step (no copy when the type already matches)");
        if (op == Ops.Const) parts.Add("every kernel and epilogue that reads it, as a literal");
        if (op == Ops.PatchConv) parts.Add($"as its {Ops.Patchify.Name} and {Ops.Linear.Name} (it is written as them)");
        if (s_attentionChain.Contains(op)) parts.Add($"in Swin's attention chain, into {Ops.WindowAttention.Name}");
        if (s_sdpaChain.Contains(op)) parts.Add($"in a scaled dot-product attention, into {Ops.Attention.Name}");
        if (parts.Count > 0) return string.Join("; ", parts);
        return op.Class == OpClass.LoadTime ? "— (built once with the constants, outside `Run`)" : "—";
    }

    /// <summary>What a grouped operator shares a generated kernel with, by class (a normalization needs its axis whole).</summary>
    private static string InKernel(OpDescriptor op) => op switch
    {
        ReductionOp { KeepsShape: true } => "pointwise and view operators around it (views after it read its axis as is: not split, merged or rolled) and reductions over the same axis",
        ReductionOp => "pointwise and view operators before it (in its reduction loop) and after it, and reductions over the same axis",
        ViewOp => "pointwise, view and reduction operators around it, as index math in their loads",
        _ => "pointwise, view and reduction operators around it",
    };

    /// <summary>The classes an epilogue may hold, lower case ("pointwise").</summary>
    private static IEnumerable<string> EpilogueClasses() =>
        Ops.All.Where(FusionRules.InEpilogue).Select(o => o.Class).Distinct().Order().Select(c => c.ToString().ToLowerInvariant());

    private static IEnumerable<string> EpilogueTemplates() =>
        Ops.All.Where(FusionRules.TakesEpilogue).Select(o => o.Name).OrderBy(n => n, StringComparer.Ordinal);

    /// <summary>"A", "A or B", "A, B or C".</summary>
    private static string Either(IEnumerable<string> names)
    {
        var list = names.ToList();
        return list.Count < 2 ? string.Concat(list) : string.Join(", ", list.Take(list.Count - 1)) + " or " + list[^1];
    }
}
