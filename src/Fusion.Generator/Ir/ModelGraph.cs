using Fusion.Generator.Model;

namespace Fusion.Generator.Ir
{
    /// <summary>
    /// What the front end extracts from one [FusedModel] class: where to emit, its parameters, and
    /// the whole forward pass (sub-modules inlined) as a dataflow graph. Equatable, holds no symbols.
    /// </summary>
    internal sealed record ModelGraph(
        string Namespace,
        EquatableArray<string> ContainingTypes,
        string ClassName,
        string FileHint,
        EquatableArray<ParamInfo> Parameters,
        EquatableArray<Node> Nodes,
        int Output,
        EquatableArray<DiagnosticInfo> Diagnostics)
    {
        /// <summary>What the fusion pass fused and what it left alone, in graph order.</summary>
        public EquatableArray<FusionDecision> Decisions { get; init; } = EquatableArray<FusionDecision>.Empty;

        /// <summary>The operators and layers the model keeps in float32 under mixed precision ([FusedModel(KeepFloat32 = …)]).</summary>
        public EquatableArray<KeepEntry> KeepFloat32 { get; init; } = EquatableArray<KeepEntry>.Empty;

        /// <summary>The Linear layers the Int8 plan leaves in fp16 ([FusedModel(KeepHalfInInt8 = …)]).</summary>
        public EquatableArray<KeepEntry> KeepHalfInInt8 { get; init; } = EquatableArray<KeepEntry>.Empty;

        /// <summary>Whether a GEMM's epilogue may accumulate a global Sum or Mean of its result ([FusedModel(PoolInGemmEpilogue = true)]).</summary>
        public bool PoolInGemmEpilogue { get; init; }

        /// <summary>Whether a GEMM's epilogue may store its result through a window reverse or roll ([FusedModel(ViewsInGemmEpilogue = true)]).</summary>
        public bool ViewsInGemmEpilogue { get; init; }

        /// <summary>The precision plans (set by <see cref="Passes.PrecisionPass"/>): the Float plan, then the Half plan(s).</summary>
        public EquatableArray<PrecisionPlan> Plans { get; init; } = EquatableArray<PrecisionPlan>.Empty;

        /// <summary>The parameter with state-dict key <paramref name="key"/> (a Param node's Name).</summary>
        public ParamInfo Parameter(string key)
        {
            foreach (var p in Parameters)
            {
                if (p.Key == key) return p;
            }
            throw new System.InvalidOperationException($"no parameter '{key}' in {ClassName}");
        }

        public bool HasErrors
        {
            get
            {
                foreach (var d in Diagnostics)
                {
                    if (Generator.Diagnostics.DiagnosticDescriptors.ById(d.Id).DefaultSeverity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error) return true;
                }
                return false;
            }
        }
    }
}
