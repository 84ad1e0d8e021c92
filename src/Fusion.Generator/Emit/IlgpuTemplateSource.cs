using System.Linq;
using Fusion.Compiler;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Emit
{
    /// <summary>
    /// The ILGPU version of a specialized template (pattern and constants, with or without a generated epilogue), or "" where it has
    /// none: the window attention's tensor-core body (<see cref="IlgpuWindowAttentionPrinter"/>) and the flash attention's
    /// (<see cref="IlgpuAttentionPrinter"/>) for the shapes they take.
    /// </summary>
    internal static class IlgpuTemplateSource
    {
        /// <summary>Whether the template has an ILGPU version: a window or flash attention of a shape its ILGPU body takes.</summary>
        public static bool Has(string pattern, EquatableArray<KernelConstant> constants) => pattern switch
        {
            Passes.WindowAttentionPattern.Pattern => IlgpuWindowAttentionPrinter.Supports(Constant(constants, "HEAD_DIM"), Constant(constants, "TOKENS")),
            Passes.AttentionPattern.Pattern => IlgpuAttentionPrinter.Supports(Constant(constants, "HEAD_DIM"), Constant(constants, "HAS_BIAS") != 0),
            _ => false,
        };

        public static string Print(string pattern, string name, EquatableArray<KernelConstant> constants, LoopKernel? epilogue)
        {
            if (!Has(pattern, constants)) return "";
            return pattern == Passes.WindowAttentionPattern.Pattern
                ? IlgpuWindowAttentionPrinter.PrintAll(name, Constant(constants, "HEADS"), Constant(constants, "HEAD_DIM"), Constant(constants, "TOKENS"),
                    Constant(constants, "WINDOWS"), Constant(constants, "HAS_MASK") != 0, epilogue)
                : IlgpuAttentionPrinter.PrintAll(name, Constant(constants, "HEAD_DIM"), Constant(constants, "CAUSAL") != 0, Constant(constants, "HAS_BIAS") != 0, epilogue);
        }

        public static string Print(KernelSpec spec) => Print(spec.Pattern, spec.Name, spec.Constants, null);

        private static int Constant(EquatableArray<KernelConstant> constants, string key) => constants.First(c => c.Key == key).Value;
    }
}
