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
        public static string Print(string pattern, string name, EquatableArray<KernelConstant> constants, LoopKernel? epilogue)
        {
            if (pattern != IlgpuWindowAttentionPrinter.Pattern) return "";
            int Constant(string key) => constants.First(c => c.Key == key).Value;
            return IlgpuWindowAttentionPrinter.PrintAll(name, Constant("HEADS"), Constant("HEAD_DIM"), Constant("TOKENS"), Constant("WINDOWS"),
                Constant("HAS_MASK") != 0, epilogue);
        }

        public static string Print(KernelSpec spec) => Print(spec.Pattern, spec.Name, spec.Constants, null);
    }
}
