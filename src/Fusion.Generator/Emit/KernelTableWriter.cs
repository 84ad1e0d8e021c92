using System.Linq;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Emit
{
    /// <summary>
    /// Writes the model's fused kernels: one FusedKernel per distinct kernel name, with its full
    /// CUDA C source as readable text, and the public <c>Kernels</c> list.
    /// </summary>
    internal static class KernelTableWriter
    {
        public const string ClassName = "FusionKernels";
        private const string Ns = "global::Fusion.";

        public static void Write(IndentedWriter w, ModelGraph graph)
        {
            var kernels = graph.Nodes.Where(n => n.Kernel is not null).Select(n => n.Kernel!).GroupBy(k => k.Name).Select(g => g.First()).ToList();
            w.Line("/// <summary>The generated kernels of this model, one per fused group (shared where identical).</summary>");
            w.Line($"public static global::System.Collections.Generic.IReadOnlyList<{Ns}FusedKernel> Kernels {{ get; }} = new {Ns}FusedKernel[]");
            w.Line("{");
            foreach (var k in kernels) w.Line($"    {ClassName}.{k.Name},");
            w.Line("};");
            w.Line();
            w.Line($"global::System.Collections.Generic.IReadOnlyList<{Ns}FusedKernel> {Ns}IFusedModel.FusedKernels => Kernels;");
            w.Line();
            using (w.Block($"private static class {ClassName}"))
            {
                for (int i = 0; i < kernels.Count; i++)
                {
                    var k = kernels[i];
                    if (i > 0) w.Line();
                    var constants = string.Join(", ", k.Constants.Select(c => $"[{Literals.String(c.Key)}] = {c.Value}"));
                    w.Line($"internal static readonly {Ns}FusedKernel {k.Name} = new {Ns}FusedKernel(");
                    w.Line($"    {Literals.String(k.Name)},");
                    w.Line($"    {Literals.String(k.Pattern)},");
                    w.Verbatim("    @\"" + KernelSourceWriter.Specialize(k).Replace("\"", "\"\"") + "\",");
                    w.Line($"    new global::System.Collections.Generic.Dictionary<string, int> {{ {constants} }});");
                }
            }
        }
    }
}
