using Fusion.Generator.Model;

namespace Fusion.Generator.Ir
{
    /// <summary>A kernel template specialized for one fused node: its name, pattern and integer constants.</summary>
    internal sealed record KernelSpec(string Name, string Pattern, EquatableArray<KernelConstant> Constants);

    /// <summary>One compile-time constant of a specialized kernel (emitted as #define FUSION_KEY value).</summary>
    internal sealed record KernelConstant(string Key, int Value);

    /// <summary>One line of the fusion report: a group that became a kernel, or a candidate that did not, and why.</summary>
    /// <param name="Fused">True for a fused group.</param>
    /// <param name="Pattern">The pattern tried.</param>
    /// <param name="Kernel">The kernel name when fused.</param>
    /// <param name="Operators">The calls involved, as written.</param>
    /// <param name="Reason">Why not, when not fused.</param>
    internal sealed record FusionDecision(bool Fused, string Pattern, string Kernel, EquatableArray<string> Operators, string Reason, string Scope, LocationInfo? Location);
}
