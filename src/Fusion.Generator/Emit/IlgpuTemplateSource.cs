using System.Linq;
using Fusion.Compiler;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Emit
{
    /// <summary>
    /// The ILGPU version of a specialized template (pattern and constants, with or without a generated epilogue), or "" where it has
    /// none: the window attention's tensor-core body (<see cref="IlgpuWindowAttentionPrinter"/>) for the shapes it takes. The
    /// global-attention template stays CUDA C only (docs/ilgpu.md).
    /// </summary>
    internal static class IlgpuTemplateSource
    {
        /// <summary>Whether the template has an ILGPU version: a window attention of a shape its tensor-core body takes.</summary>
        public static bool Has(string pattern, EquatableArray<KernelConstant> constants) =>
            pattern == Passes.WindowAttentionPattern.Pattern && IlgpuWindowAttentionPrinter.Supports(Constant(constants, "HEAD_DIM"), Constant(constants, "TOKENS"));

        public static string Print(string pattern, string name, EquatableArray<KernelConstant> constants, LoopKernel? epilogue) =>
            Has(pattern, constants)
                ? IlgpuWindowAttentionPrinter.PrintAll(name, Constant(constants, "HEADS"), Constant(constants, "HEAD_DIM"), Constant(constants, "TOKENS"),
                    Constant(constants, "WINDOWS"), Constant(constants, "HAS_MASK") != 0, epilogue)
                : "";

        public static string Print(KernelSpec spec) => Print(spec.Pattern, spec.Name, spec.Constants, null);

        private static int Constant(EquatableArray<KernelConstant> constants, string key) => constants.First(c => c.Key == key).Value;
    }
}
