using System.Linq;
using Fusion.Generator.Diagnostics;
using Fusion.Generator.Emit;
using Fusion.Generator.Frontend;
using Fusion.Generator.Interception;
using Fusion.Generator.Ir;
using Fusion.Generator.Model;
using Fusion.Generator.Passes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Fusion.Generator
{
    /// <summary>
    /// The pipeline: [FusedModel] class → extract (front end, the only step that sees symbols) →
    /// infer shapes → fuse templates → plan precision (Float and mixed Half plans) → schedule (generated kernels, GEMM epilogues) → emit. Each step's output is an equatable record, so an edit that does not
    /// change a model's graph leaves its later steps cached.
    /// </summary>
    [Generator(LanguageNames.CSharp)]
    public sealed class FusionGenerator : IIncrementalGenerator
    {
        /// <summary>Tracking names of the pipeline steps (used by the incrementality tests).</summary>
        public static class Steps
        {
            public const string Extract = "Fusion.Extract";
            public const string Infer = "Fusion.Infer";
            public const string Fuse = "Fusion.Fuse";
            public const string Precision = "Fusion.Precision";
            public const string Schedule = "Fusion.Schedule";
            public const string EagerCalls = "Fusion.EagerCalls";
        }

        public void Initialize(IncrementalGeneratorInitializationContext context)
        {
            var graphs = context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    "Fusion.FusedModelAttribute",
                    static (node, _) => node is ClassDeclarationSyntax,
                    ModelExtractor.Extract)
                .WithTrackingName(Steps.Extract);

            var typed = graphs
                .Select(static (graph, _) => graph.HasErrors ? graph : ShapeInference.Run(graph))
                .WithTrackingName(Steps.Infer);

            var fused = typed
                .Select(static (graph, _) => LinearAffineFold.Run(LayoutPass.Run(FusionPass.Run(graph))))
                .WithTrackingName(Steps.Fuse);

            var planned = fused
                .Select(static (graph, _) => PrecisionPass.Run(graph))
                .WithTrackingName(Steps.Precision);

            var scheduled = planned
                .Select(static (graph, _) => Scheduler.Run(graph))
                .WithTrackingName(Steps.Schedule);

            context.RegisterSourceOutput(scheduled, static (spc, graph) => Produce(spc, graph));

            // The second pipeline: eager model.Forward(...) calls from users' code, each intercepted to run in an EagerScope.
            var eagerCalls = context.SyntaxProvider
                .CreateSyntaxProvider(static (node, _) => EagerCallSiteFinder.IsCandidate(node), EagerCallSiteFinder.Find)
                .Where(static site => site is not null)
                .Select(static (site, _) => site!)
                .WithTrackingName(Steps.EagerCalls)
                .Collect()
                .Select(static (sites, _) => sites.ToEquatableArray());
            var optedIn = context.ParseOptionsProvider.Select(static (options, _) => InterceptorOptIn.IsEnabled(options));
            context.RegisterSourceOutput(eagerCalls.Combine(optedIn), static (spc, input) => ProduceInterceptors(spc, input.Left, input.Right));
        }

        /// <summary>
        /// The interceptors file, or, where the project has not opted in to interceptors in Fusion.Generated, one FUS016
        /// instead: emitting them anyway would fail the build with CS9137 over what is a memory saving.
        /// </summary>
        private static void ProduceInterceptors(SourceProductionContext context, EquatableArray<EagerCallSite> sites, bool optedIn)
        {
            if (sites.Count == 0) return;
            if (optedIn) context.AddSource(EagerForwardEmitter.HintName, EagerForwardEmitter.Emit(sites));
            else context.ReportDiagnostic(DiagnosticInfo.Create(DiagnosticDescriptors.EagerCallsNotScoped, sites[0].Location,
                sites.Count.ToString(), InterceptorOptIn.Namespace).ToDiagnostic());
        }

        private static void Produce(SourceProductionContext context, ModelGraph graph)
        {
            foreach (var diagnostic in graph.Diagnostics) context.ReportDiagnostic(diagnostic.ToDiagnostic());
            if (graph.HasErrors || graph.Output < 0) return;
            var missing = graph.Nodes.Where(n => n.Kernel is not null && !KernelSourceWriter.HasTemplate(n.Kernel.Pattern)).Select(n => n.Kernel!.Pattern).Distinct().ToList();
            if (missing.Count > 0)
            {
                context.ReportDiagnostic(DiagnosticInfo.Create(DiagnosticDescriptors.InternalError, null, graph.ClassName,
                    "no kernel template embedded for " + string.Join(", ", missing)).ToDiagnostic());
                return;
            }
            foreach (var d in Decisions(graph))
            {
                var info = d.Fused
                    ? DiagnosticInfo.Create(DiagnosticDescriptors.Fused, d.Location, d.Operators.Count.ToString(), d.Kernel, d.Pattern, string.Join(" → ", d.Operators))
                    : DiagnosticInfo.Create(DiagnosticDescriptors.NotFused, d.Location, d.Pattern, d.Operators.FirstOrDefault() ?? "", d.Reason);
                context.ReportDiagnostic(info.ToDiagnostic());
            }

            context.AddSource(graph.FileHint + ".Fusion.g.cs", ModelEmitter.Emit(graph));
            if (IlgpuKernelsEmitter.Emit(graph) is { } ilgpu) context.AddSource(IlgpuKernelsEmitter.HintName(graph), ilgpu);
            int operators = graph.Nodes.Count(n => !n.IsSource);
            var values = graph.Parameters.Sum(p => p.ElementCount);
            context.ReportDiagnostic(DiagnosticInfo.Create(DiagnosticDescriptors.ModelCompiled, null,
                graph.ClassName, operators.ToString(), graph.Parameters.Count.ToString(), values.ToString()).ToDiagnostic());
        }

        /// <summary>
        /// The decisions reported as diagnostics: the template patterns', then the scheduler's for the plan a GPU runs (the Half
        /// plan, CUDA's when the backends' plans differ), so each fusion shows once in the IDE; the report lists every plan.
        /// </summary>
        private static System.Collections.Generic.IEnumerable<FusionDecision> Decisions(ModelGraph graph)
        {
            var plan = graph.Plans.LastOrDefault(p => p.Target == FloatType.F16 && p.Backends.Contains(nameof(BackendKind.Cuda))) ?? graph.Plans.LastOrDefault();
            return graph.Decisions.Concat(plan?.Schedule?.Decisions ?? EquatableArray<FusionDecision>.Empty);
        }
    }
}
