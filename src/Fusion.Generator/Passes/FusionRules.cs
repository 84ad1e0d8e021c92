using Fusion.Compiler;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// The scheduler's rules per operator, apart from any graph: which operators generated kernels compute, which templates
    /// take a generated epilogue and what it may hold, what each reader recomputes, what stays a view of memory. The
    /// <see cref="Scheduler"/> applies them and docs/operators.md states them from here, so the two cannot disagree.
    /// </summary>
    internal static class FusionRules
    {
        /// <summary>Operators that generated kernels compute: the scheduler groups them, walking back from the output.</summary>
        public static bool Grouped(OpDescriptor op) => op.Class is OpClass.Pointwise or OpClass.View or OpClass.Reduction;

        /// <summary>Templates whose kernel hands its results to a generated epilogue (the GEMM's, the window attention's and the flash attention's).</summary>
        public static bool TakesEpilogue(OpDescriptor op) => op == Ops.Linear || op == Ops.WindowAttention || op == Ops.Attention;

        /// <summary>What a template's epilogue may hold: pointwise operators (a chain of single readers of the template's shape).</summary>
        public static bool InEpilogue(OpDescriptor op) => op.Class == OpClass.Pointwise;

        /// <summary>
        /// Reductions a GEMM's epilogue may end with when they alone read its result (through permutes): a sum or mean, which it
        /// accumulates by adds into a float32 buffer (a global average pool); a max or a normalization cannot be added up that way.
        /// </summary>
        public static bool PooledInGemmEpilogue(OpDescriptor op) => op == Ops.Sum || op == Ops.Mean;

        /// <summary>
        /// Index math and casts: when their inputs are in memory, every kernel that reads them recomputes them (moving or
        /// converting in each load costs less than storing a copy).
        /// </summary>
        public static bool RecomputedPerReader(OpDescriptor op) => op.Class == OpClass.View || op == Ops.Cast;

        /// <summary>Same-order relayouts: read by no generated kernel, they are views of their input's memory (no copy).</summary>
        public static bool ViewOfMemory(OpDescriptor op) => op == Ops.Reshape || op == Ops.Flatten;
    }
}
