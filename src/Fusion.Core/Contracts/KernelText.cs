using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace Fusion.Compiler
{
    /// <summary>
    /// How a kernel template (src/Fusion.Kernels/Cuda/Templates/*.cut) becomes a kernel's source: a header line, the include,
    /// <c>#define FUSION_KERNEL name</c>, one <c>#define FUSION_KEY value</c> per constant in ordinal key order, any generated code
    /// the template takes (a GEMM's epilogue), a blank line, then the template body. The generator and the runtime (tests,
    /// benchmarks) both specialize through here, so the two cannot drift apart.
    /// </summary>
    internal static class KernelText
    {
        public static string Specialize(string pattern, string name, IEnumerable<KeyValuePair<string, int>> constants, string body,
            string include = "prelude.cuh", string generated = "")
        {
            var text = new StringBuilder();
            text.Append("// ").Append(name).Append(": ").Append(pattern).Append(" kernel specialized by Fusion\n");
            text.Append("#include \"").Append(include).Append("\"\n");
            text.Append("#define FUSION_KERNEL ").Append(name).Append('\n');
            foreach (var c in constants.OrderBy(c => c.Key, StringComparer.Ordinal))
                text.Append("#define FUSION_").Append(c.Key).Append(' ').Append(c.Value.ToString(CultureInfo.InvariantCulture)).Append('\n');
            if (generated.Length > 0) text.Append('\n').Append(generated);
            text.Append('\n').Append(Body(body));
            return text.ToString();
        }

        /// <summary>A template's text as a specialized source ends with it (line ends normalized).</summary>
        public static string Body(string template) => template.Replace("\r\n", "\n");
    }

    /// <summary>
    /// The GEMM template (pattern "gemm") specialized for one layer: N, K, KW and its printed epilogue; the int8 variant also
    /// defines FUSION_GEMM_S8 1 (int8 x and w, exact int32 sums, KW a multiple of 16).
    /// </summary>
    internal static class GemmSource
    {
        public const string Pattern = "gemm";

        /// <summary>The constant that selects the int8 variant (printed as FUSION_GEMM_S8).</summary>
        public const string Int8Constant = "GEMM_S8";

        public static IReadOnlyDictionary<string, int> Constants(int n, int k, bool int8 = false, ConvGemm? conv = null)
        {
            var constants = new SortedDictionary<string, int>(StringComparer.Ordinal)
            {
                ["K"] = k,
                ["KW"] = GemmRows.Stride(k, int8),
                ["N"] = n,
            };
            // Only the int8 variant names it, so the fp16 kernels' text (and their cache keys) stay as they were.
            if (int8) constants[Int8Constant] = 1;
            conv?.AddConstants(constants); // an implicit-GEMM convolution: x is its channels-last image
            return constants;
        }

        /// <summary>The kernel's source from the template body and the epilogue (a loop-IR kernel over the [.., N] output reading "acc").</summary>
        public static string Specialize(string name, int n, int k, LoopKernel epilogue, string templateBody, bool int8 = false, ConvGemm? conv = null) =>
            KernelText.Specialize(Pattern, name, Constants(n, k, int8, conv), templateBody, "generated.cuh", CudaEpiloguePrinter.Print(epilogue));
    }
}
