using System.Collections.Generic;
using System.Linq;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Emit
{
    /// <summary>
    /// Writes the model's kernels, each once: the kernels generated from the loop IR (their IR and CUDA C as readable text), the
    /// GEMMs with their generated epilogues, and the specialized templates (with a generated epilogue where one follows them);
    /// and the public <c>Kernels</c> list.
    /// </summary>
    internal static class KernelTableWriter
    {
        public const string ClassName = "FusionKernels";
        private const string Ns = "global::Fusion.";

        /// <summary>Every kernel generated from the loop IR, once: the plans' own, and the GEMMs' and templates' epilogues.</summary>
        public static List<GeneratedKernelSpec> GeneratedKernels(ModelGraph graph)
        {
            var steps = Steps(graph);
            return GeneratedKernels(steps, Gemms(steps), WithEpilogues(steps));
        }

        /// <summary>Every GEMM with a generated epilogue, once.</summary>
        public static List<GemmSpec> Gemms(ModelGraph graph) => Gemms(Steps(graph));

        /// <summary>The ILGPU text of every template the model runs, once: the plain ones' and those with epilogues ("" for none).</summary>
        public static List<string> TemplateIlgpu(ModelGraph graph) =>
            Templates(graph).Select(IlgpuTemplateSource.Print).Concat(WithEpilogues(Steps(graph)).Select(t => t.Ilgpu)).Where(t => t.Length > 0).ToList();

        /// <summary>Templates some plan runs as they are (a template every plan runs with an epilogue is not listed).</summary>
        private static List<KernelSpec> Templates(ModelGraph graph) =>
            Distinct(graph.Plans.Where(p => p.Schedule is not null)
                .SelectMany(p => p.Schedule!.Steps.Where(s => s.Kind is StepKind.Call or StepKind.QkvAttention && p.Nodes[s.Node].Kernel is not null).Select(s => p.Nodes[s.Node].Kernel!)), k => k.Name);

        private static List<GeneratedKernelSpec> GeneratedKernels(List<Step> steps, List<GemmSpec> gemms, List<TemplateSpec> withEpilogues) =>
            Distinct(steps.Where(s => s.Kernel is not null).Select(s => s.Kernel!).Concat(gemms.Select(g => g.Epilogue))
                .Concat(withEpilogues.Select(t => t.Epilogue)), k => k.Name);

        private static List<Step> Steps(ModelGraph graph) => graph.Plans.Where(p => p.Schedule is not null).SelectMany(p => p.Schedule!.Steps).ToList();

        private static List<GemmSpec> Gemms(List<Step> steps) =>
            Distinct(steps.Where(s => s.Gemm is not null).SelectMany(s => s.Second is null ? new[] { s.Gemm! } : new[] { s.Gemm!, s.Second }), g => g.Name);

        private static List<TemplateSpec> WithEpilogues(List<Step> steps) => Distinct(steps.Where(s => s.Template is not null).Select(s => s.Template!), t => t.Name);

        public static void Write(IndentedWriter w, ModelGraph graph)
        {
            var steps = Steps(graph);
            var gemms = Gemms(steps);
            var withEpilogues = WithEpilogues(steps);
            var generated = GeneratedKernels(steps, gemms, withEpilogues);
            var templates = Templates(graph);
            var names = generated.Select(k => k.Name).Concat(gemms.Select(g => g.Name)).Concat(templates.Select(k => k.Name))
                .Concat(withEpilogues.Select(t => t.Name)).ToList();

            w.Line("/// <summary>The model's kernels: generated from the loop IR, GEMMs with generated epilogues, and specialized templates.</summary>");
            w.Line($"public static global::System.Collections.Generic.IReadOnlyList<{Ns}IKernel> Kernels {{ get; }} = new {Ns}IKernel[]");
            w.Line("{");
            foreach (var name in names) w.Line($"    {ClassName}.{name},");
            w.Line("};");
            w.Line();
            w.Line($"global::System.Collections.Generic.IReadOnlyList<{Ns}IKernel> {Ns}IFusedModel.Kernels => Kernels;");
            w.Line();
            // The templates' texts once, before the kernels whose sources end with them.
            var shared = new SharedTemplateText(gemms.Select(g => g.Cuda).Concat(templates.Select(KernelSourceWriter.Specialize)).Concat(withEpilogues.Select(t => t.Cuda)));
            using (w.Block($"private static class {ClassName}"))
            {
                shared.WriteFields(w);
                bool first = true;
                void Gap()
                {
                    if (!first) w.Line();
                    first = false;
                }
                foreach (var k in generated)
                {
                    Gap();
                    w.Line($"/// <summary>{Xml(string.Join("; ", k.Ops))}</summary>");
                    w.Line($"internal static readonly {Ns}GeneratedKernel {k.Name} = new {Ns}GeneratedKernel(");
                    w.Line($"    {Literals.String(k.Name)},");
                    w.Verbatim("    loopIr: " + Literals.Verbatim(k.LoopIr) + ",");
                    w.Verbatim("    cudaSource: " + Literals.Verbatim(k.Cuda) + ",");
                    w.Line($"    launch: {Literals.String(k.Launch)},");
                    w.Line($"    ilgpuKernels: {(k.Ilgpu.Length > 0 ? $"typeof({IlgpuKernelsEmitter.ClassName})" : "null")});");
                }
                foreach (var g in gemms)
                {
                    Gap();
                    w.Line($"internal static readonly {Ns}GemmKernel {g.Name} = new {Ns}GemmKernel(");
                    w.Line($"    {Literals.String(g.Name)}, n: {g.N}, k: {g.K}, kw: {g.KW},");
                    w.Verbatim("    cudaSource: " + shared.Expression(g.Cuda) + ",");
                    w.Line($"    epilogue: {g.Epilogue.Name},");
                    var flags = new List<string>();
                    if (g.CublasScale >= 0) flags.Add($"Scale = {g.CublasScale}, OutScale = {g.CublasOutScale}");
                    if (g.CublasResidualFirst) flags.Add("ResidualFirst = true");
                    if (g.CublasToIo) flags.Add("ToIo = true");
                    var scales = flags.Count > 0 ? " { " + string.Join(", ", flags) + " }" : "";
                    w.Line($"    cublas: {(g.CublasActivation < 0 ? "null" : $"new {Ns}CublasEpilogue(({Ns}Activation){g.CublasActivation}, {g.CublasBias}, {g.CublasResidual}){scales}")},");
                    var conv = g.Conv is { } c ? $", conv: new {Ns}ConvolutionShape({c.Height}, {c.Width}, {c.Channels}, {c.Kernel}, {c.Stride}, {c.Padding}, {c.Dilation})" : "";
                    w.Line($"    ilgpuKernels: {(g.Ilgpu.Length > 0 ? $"typeof({IlgpuKernelsEmitter.ClassName})" : "null")}{(g.Int8 ? ", int8: true" : "")}{(g.Fp8 ? ", fp8: true" : "")}{conv});");
                }
                foreach (var k in templates)
                {
                    Gap();
                    var constants = string.Join(", ", k.Constants.Select(c => $"[{Literals.String(c.Key)}] = {c.Value}"));
                    w.Line($"internal static readonly {Ns}FusedKernel {k.Name} = new {Ns}FusedKernel(");
                    w.Line($"    {Literals.String(k.Name)},");
                    w.Line($"    {Literals.String(k.Pattern)},");
                    w.Verbatim("    " + shared.Expression(KernelSourceWriter.Specialize(k)) + ",");
                    var init = Initializer(IlgpuTemplateSource.Has(k.Pattern, k.Constants), null);
                    w.Line($"    new global::System.Collections.Generic.Dictionary<string, int> {{ {constants} }}){(init.Length == 0 ? ";" : "")}");
                    if (init.Length > 0) w.Line(init + ";");
                }
                foreach (var t in withEpilogues)
                {
                    Gap();
                    var constants = string.Join(", ", t.Constants.Select(c => $"[{Literals.String(c.Key)}] = {c.Value}"));
                    w.Line($"internal static readonly {Ns}FusedKernel {t.Name} = new {Ns}FusedKernel(");
                    w.Line($"    {Literals.String(t.Name)},");
                    w.Line($"    {Literals.String(t.Pattern)},");
                    w.Verbatim("    " + shared.Expression(t.Cuda) + ",");
                    w.Line($"    new global::System.Collections.Generic.Dictionary<string, int> {{ {constants} }})");
                    w.Line($"{Initializer(t.Ilgpu.Length > 0, t.Epilogue.Name)};");
                }
            }
        }

        /// <summary>A FusedKernel's initializer: its epilogue, and the class of its ILGPU version where it has one.</summary>
        private static string Initializer(bool hasIlgpu, string? epilogue)
        {
            var members = new List<string>();
            if (epilogue is not null) members.Add($"Epilogue = {epilogue}");
            if (hasIlgpu) members.Add($"IlgpuKernels = typeof({IlgpuKernelsEmitter.ClassName})");
            return members.Count == 0 ? "" : $"{{ {string.Join(", ", members)} }}";
        }

        private static List<T> Distinct<T>(IEnumerable<T> items, System.Func<T, string> key)
        {
            var seen = new HashSet<string>();
            return items.Where(i => seen.Add(key(i))).ToList();
        }

        private static string Xml(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
    }
}
