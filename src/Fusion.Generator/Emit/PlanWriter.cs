using System.Collections.Generic;
using System.Linq;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Emit
{
    /// <summary>
    /// Prints one precision plan's <see cref="Schedule"/>: the constant steps in a build method the model caches per backend
    /// and plan, and the plan's run method, one line per step (a generated kernel, a GEMM with its epilogue, a backend call or
    /// a view), each value disposed right after its last reader as the schedule says. It decides nothing.
    /// </summary>
    internal sealed class PlanWriter
    {
        private const string Ns = "global::Fusion.";
        private readonly ModelGraph _graph;
        private readonly PrecisionPlan _plan;
        private readonly Schedule _schedule;
        private readonly string _name;
        private readonly List<string> _inputs;

        /// <param name="name">The plan's name: the run method is Run{name}, the constant builder BuildFusionConstants{name}.</param>
        public PlanWriter(ModelGraph graph, PrecisionPlan plan, string name)
        {
            _graph = graph;
            _plan = plan;
            _schedule = plan.Schedule!;
            _name = name;
            _inputs = graph.Nodes.Where(n => n.Is(Ops.Input)).Select(n => n.Name).ToList();
        }

        /// <summary>The plan method's parameter for the model's input <paramref name="index"/>: never a Forward parameter's
        /// name, so none collides with the method's own (be, batch, io, constants, v12…).</summary>
        public static string InputName(int index) => "input" + index;

        public bool HasConstants => _schedule.Hoisted.Count > 0;

        public string RunMethod => "Run" + _name;

        private IReadOnlyList<Node> Nodes => _plan.Nodes;

        /// <summary>The method that builds the constants (hoisted out of Run).</summary>
        public void WriteConstantBuilder(IndentedWriter w)
        {
            if (!HasConstants) return;
            using (w.Block($"private {Ns}Tensor[] BuildFusionConstants{_name}({Ns}IBackend be, {Ns}DType plan)"))
            {
                w.Line("const int batch = 1; // constants have no batch axis");
                // A quantized plan's constants are keyed by its own dtype (apart from the Half plan's) but computed as the Half plan's are.
                w.Line(_plan.Target.IsCode() ? $"var io = {Ns}DType.Float16; // plan: {_plan.Target.ToCSharp()}" : "var io = plan;");
                w.Line("_ = batch + (int)io;");
                // A parameter only the constants' generated kernels read (in this plan's type for it: a quantized plan's float32
                // weights) is read through a copy freed once they are built, so no device copy of it stays behind. One a view or a
                // backend call reads keeps the backend's copy: their result may share its memory.
                var readLater = new HashSet<int>(_schedule.Steps.Where(s => !s.Constant || s.Kind is not (StepKind.Kernel or StepKind.Gemm)).SelectMany(s => s.Inputs));
                var copied = _schedule.Steps.Where(s => s.Constant).SelectMany(s => s.Inputs).Distinct()
                    .Where(i => Nodes[i].Is(Ops.Param) && !readLater.Contains(i)).OrderBy(i => i).ToList();
                // Each copy is made before its first reader and freed after its last, so at most a few are alive at once.
                var steps = _schedule.Steps.Where(s => s.Constant).ToList();
                var readers = copied.ToDictionary(p => p, p => (First: steps.FindIndex(s => s.Inputs.Contains(p)), Last: steps.FindLastIndex(s => s.Inputs.Contains(p))));
                WithFailureCleanup(w, () =>
                {
                    _copiedParams = new HashSet<int>(copied);
                    for (int i = 0; i < steps.Count; i++)
                    {
                        foreach (var p in copied.Where(p => readers[p].First == i))
                            w.Line($"var c{p} = fusionPass.Own(be.ParamCopy({AccessPath(Nodes[p])}, {Nodes[p].Precision.ToCSharp()})); // read by the constants alone");
                        WriteStep(w, steps[i], inConstants: true);
                        foreach (var p in copied.Where(p => readers[p].Last == i)) w.Line($"c{p}.Dispose();");
                    }
                    _copiedParams = null;
                    w.Line($"return new {Ns}Tensor[] {{ {string.Join(", ", _schedule.Hoisted.Select(V))} }};");
                });
            }
            w.Line();
        }

        /// <summary>The plan's run method: be, the batch, the input/output dtype io, then the (checked) inputs.</summary>
        public void WriteRunMethod(IndentedWriter w, string inputParameters)
        {
            using (w.Block($"private {Ns}Tensor {RunMethod}({Ns}IBackend be, int batch, {Ns}DType io{inputParameters})"))
            {
                if (HasConstants)
                {
                    var sources = _schedule.Steps.Where(s => s.Constant).SelectMany(s => s.Inputs).Distinct().Where(i => Nodes[i].Is(Ops.Param) || Nodes[i].Is(Ops.Scale))
                        .Select(i => "(long)" + AccessPath(Nodes[i]) + ".Version").ToList();
                    var stamp = sources.Count == 0 ? "0L" : string.Join(" + ", sources);
                    w.Line($"var constants = _fusionConstants.Get(be, {_plan.Target.ToCSharp()}, {stamp}, BuildFusionConstants{_name});");
                    for (int i = 0; i < _schedule.Hoisted.Count; i++)
                        w.Line($"var {V(_schedule.Hoisted[i])} = constants[{i}]; // {Nodes[_schedule.Hoisted[i]].ShapeText} constant: {Nodes[_schedule.Hoisted[i]].Source}");
                    w.Line();
                }
                WithFailureCleanup(w, () =>
                {
                    foreach (var step in _schedule.Steps.Where(s => !s.Constant)) WriteStep(w, step, inConstants: false);
                    w.Line($"return {Value(_plan.Output)};");
                });
            }
        }

        /// <summary>
        /// The steps inside try/catch: every step's result is recorded in a <c>PassTensors</c>, and a step that throws (out
        /// of device memory, a kernel error) frees everything the pass made before the exception goes on, so a failed pass
        /// leaks nothing and the next one starts from the same memory.
        /// </summary>
        private static void WithFailureCleanup(IndentedWriter w, System.Action body)
        {
            w.Line($"var fusionPass = new {Ns}PassTensors();");
            using (w.Block("try")) body();
            using (w.Block("catch"))
            {
                w.Line("fusionPass.DisposeAll();");
                w.Line("throw;");
            }
        }

        private void WriteStep(IndentedWriter w, Step step, bool inConstants)
        {
            var node = Nodes[step.Node];
            var args = step.Inputs.Select(Value).ToArray();
            string where = node.Location is null ? "" : "  " + node.Location.Describe();
            string scope = node.Scope.Length > 0 ? node.Scope + ": " : "";
            switch (step.Kind)
            {
                case StepKind.Kernel:
                    w.Line($"// {node.ShapeText} {node.Precision.Short()}  {scope}kernel {step.Kernel!.Name} ({step.Kernel.Strategy}): {Describe(step)}{where}");
                    WriteOutputs(w, step, $"be.Run({KernelTableWriter.ClassName}.{step.Kernel.Name}, batch, io{string.Concat(args.Select(a => ", " + a))})");
                    break;
                case StepKind.Gemm:
                    w.Line($"// {node.ShapeText} {Nodes[step.Outputs[0]].Precision.Short()}  {scope}gemm {step.Gemm!.Name}: {Describe(step)}{where}");
                    WriteOutputs(w, step, $"be.Gemm({KernelTableWriter.ClassName}.{step.Gemm.Name}, batch, io{string.Concat(args.Select(a => ", " + a))})");
                    break;
                case StepKind.Mlp:
                {
                    int second = step.SecondAt, upInputs = second - 2, downInputs = args.Length - second - 1;
                    w.Line($"// {Nodes[step.Outputs[0]].ShapeText} {Nodes[step.Outputs[0]].Precision.Short()}  {scope}mlp {step.KernelName}: {Describe(step)}{where}");
                    WriteOutputs(w, step, $"be.Mlp({KernelTableWriter.ClassName}.{step.Gemm!.Name}, {KernelTableWriter.ClassName}.{step.Second!.Name}, batch, io, "
                        + $"{args[0]}, {args[1]}, {TensorArray(args.Skip(2).Take(upInputs))}, {args[second]}, {TensorArray(args.Skip(second + 1).Take(downInputs))})");
                    break;
                }
                case StepKind.QkvAttention:
                {
                    int at = step.SecondAt;
                    var result = Nodes[step.Outputs[0]];
                    w.Line($"// {result.ShapeText} {result.Precision.Short()}  {scope}qkv attention {ReportWriter.QkvAttentionName(step, node)}: {Describe(step)}{where}");
                    string gemm = $"{KernelTableWriter.ClassName}.{step.Gemm!.Name}";
                    // The attention's own arguments end where the output projection's begin.
                    var own = step.Second is null ? args : args.Take(step.OutputAt).ToArray();
                    string tail = step.Second is { } projection
                        ? OperatorCalls.AttentionOutput($"{KernelTableWriter.ClassName}.{projection.Name}", args.Skip(step.OutputAt).ToArray())
                        : "";
                    string call = step.Norm is { } norm
                        ? OperatorCalls.NormQkvAttention(node, $"{KernelTableWriter.ClassName}.{step.Kernel!.Name}", norm, gemm, own, at, tail)
                        : OperatorCalls.QkvAttention(node, gemm, own, at, tail);
                    w.Line($"var {V(step.Outputs[0])} = fusionPass.Own({call});");
                    break;
                }
                case StepKind.Template:
                    w.Line($"// {node.ShapeText} {Nodes[step.Outputs[0]].Precision.Short()}  {scope}{step.Template!.Pattern} {step.Template.Name}: {Describe(step)}{where}");
                    WriteOutputs(w, step, OperatorCalls.WithEpilogue(node, args, step.Template.Name));
                    break;
                case StepKind.Convert:
                    w.Line($"// {node.ShapeText} {node.Precision.Short()}  {scope}{node.Source} (a view when the run's type is already {node.Precision.Short()})");
                    w.Line($"var {V(node.Id)} = fusionPass.Own({Ns}MixedPrecision.Convert(be, {args[0]}, {node.Precision.ToCSharp()}));");
                    break;
                default:
                    w.Line($"// {node.ShapeText} {node.Precision.Short()}  {scope}{(step.Kind == StepKind.View ? "view: " : "")}{node.Source}{where}");
                    w.Line($"var {V(node.Id)} = fusionPass.Own({OperatorCalls.For(node, args)});");
                    break;
            }
            foreach (var v in step.Frees) w.Line($"{V(v)}.Dispose();");
        }

        private static string TensorArray(IEnumerable<string> items) => $"new {Ns}Tensor[] {{ {string.Join(", ", items)} }}";

        private void WriteOutputs(IndentedWriter w, Step step, string call)
        {
            if (step.Outputs.Count == 1)
            {
                w.Line($"var {V(step.Outputs[0])} = fusionPass.Own({call})[0];");
                return;
            }
            w.Line($"var o{step.Node} = fusionPass.Own({call});");
            for (int i = 0; i < step.Outputs.Count; i++) w.Line($"var {V(step.Outputs[i])} = o{step.Node}[{i}]; // also {Nodes[step.Outputs[i]].Source}");
        }

        /// <summary>The C# expression of a value: an input's name, a parameter's backend copy, or the local holding it.</summary>
        private string Value(int id)
        {
            var n = Nodes[id];
            if (n.Is(Ops.Input)) return InputName(_inputs.IndexOf(n.Name));
            if (_copiedParams?.Contains(id) == true) return "c" + id;
            if (n.Is(Ops.Param) || n.Is(Ops.Scale)) return $"be.Param({AccessPath(n)}, {n.Precision.ToCSharp()})";
            return V(id);
        }

        private string Describe(Step step) => string.Join(" → ", step.Members.Select(m => Nodes[m]).Where(n => !n.Is(Ops.Const)).Select(n => n.Source).Distinct());

        /// <summary>A parameter's field path, or an int8 scale's parameter in the model's <c>Int8Scales</c>.</summary>
        private string AccessPath(Node param) =>
            param.Is(Ops.Scale) ? $"Int8Scales.Of({Literals.String(param.Name)})" : _graph.Parameter(param.Name).AccessPath;

        private static string V(int id) => "v" + id;

        /// <summary>While the constant builder is written: the parameters it reads through copies of its own (c{id}).</summary>
        private HashSet<int>? _copiedParams;
    }
}
