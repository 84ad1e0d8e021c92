using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Fusion.Generator.Diagnostics;
using Fusion.Generator.Ir;
using Fusion.Generator.Model;
using Fusion.Generator.Passes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Fusion.Generator.Frontend
{
    /// <summary>
    /// The front end's entry point: from one [FusedModel] class to a <see cref="ModelGraph"/>
    /// (declaration checks, module tree, inputs, translated forward pass, dead results removed).
    /// </summary>
    internal static class ModelExtractor
    {
        public static ModelGraph Extract(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
        {
            var declaration = (ClassDeclarationSyntax)context.TargetNode;
            var type = (INamedTypeSymbol)context.TargetSymbol;
            var ctx = new ExtractionContext(context.SemanticModel);
            var (ns, containing, fileHint) = Naming(type);
            try
            {
                return ExtractCore(declaration, type, ctx, ns, containing, fileHint, cancellationToken) with
                {
                    KeepFloat32 = KeepList(context.Attributes, "KeepFloat32"),
                    KeepHalfInInt8 = KeepList(context.Attributes, "KeepHalfInInt8"),
                    PoolInGemmEpilogue = Flag(context, "PoolInGemmEpilogue"),
                    ViewsInGemmEpilogue = Flag(context, "ViewsInGemmEpilogue"),
                };
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                ctx.Report(DiagnosticDescriptors.InternalError, declaration.Identifier.Parent, type.Name, e.GetType().Name + ": " + e.Message);
                return Empty(ns, containing, type.Name, fileHint, ctx);
            }
        }

        /// <summary>Whether the [FusedModel] attribute sets the named bool property to true.</summary>
        private static bool Flag(GeneratorAttributeSyntaxContext context, string name) =>
            context.Attributes.SelectMany(a => a.NamedArguments).Any(a => a.Key == name && a.Value.Value is true);

        private static ModelGraph ExtractCore(ClassDeclarationSyntax declaration, INamedTypeSymbol type, ExtractionContext ctx,
            string ns, EquatableArray<string> containing, string fileHint, CancellationToken cancellationToken)
        {
            if (!CheckDeclaration(declaration, type, ctx)) return Empty(ns, containing, type.Name, fileHint, ctx);

            var root = new ModuleTreeBuilder(ctx).Build(type, new Dictionary<string, object>(), "", "this", null);
            cancellationToken.ThrowIfCancellationRequested();

            var translator = new ForwardTranslator(ctx);
            var forward = ForwardTranslator.FindForward(type);
            int? output = null;
            if (forward is null)
            {
                ctx.Report(DiagnosticDescriptors.MissingForward, LocationInfo.From(declaration.Identifier.GetLocation()), type.Name);
            }
            else
            {
                var inputs = AddInputs(forward, translator, ctx, type);
                if (inputs is not null) output = translator.TranslateModule(root, inputs, forward);
            }

            var nodes = translator.Nodes;
            if (output is not null) nodes = DeadCodeElimination.Run(nodes, output.Value, ctx, out output);
            return new ModelGraph(ns, containing, type.Name, fileHint,
                ctx.Parameters.ToEquatableArray(), nodes.ToEquatableArray(), output ?? -1, ctx.Diagnostics.ToEquatableArray());
        }

        private static bool CheckDeclaration(ClassDeclarationSyntax declaration, INamedTypeSymbol type, ExtractionContext ctx)
        {
            bool ok = true;
            for (var t = (SyntaxNode?)declaration; t is TypeDeclarationSyntax td; t = t.Parent)
            {
                if (!td.Modifiers.Any(SyntaxKind.PartialKeyword))
                {
                    ctx.Report(DiagnosticDescriptors.ClassNotPartial, LocationInfo.From(td.Identifier.GetLocation()), td.Identifier.ValueText);
                    ok = false;
                }
            }
            if (!ctx.Known.IsModule(type))
            {
                ctx.Report(DiagnosticDescriptors.RootNotModule, LocationInfo.From(declaration.Identifier.GetLocation()), type.Name);
                ok = false;
            }
            if (type.InstanceConstructors.All(c => c.Parameters.Length > 0))
            {
                ctx.Report(DiagnosticDescriptors.RootNeedsParameterlessConstructor, LocationInfo.From(declaration.Identifier.GetLocation()), type.Name);
                ok = false;
            }
            return ok;
        }

        /// <summary>One Input node per Forward parameter, shaped by its [Shape] attribute.</summary>
        private static List<int>? AddInputs(MethodDeclarationSyntax forward, ForwardTranslator translator, ExtractionContext ctx, INamedTypeSymbol type)
        {
            var model = ctx.Models.Get(forward.SyntaxTree);
            var inputs = new List<int>();
            bool ok = true;
            foreach (var parameter in forward.ParameterList.Parameters)
            {
                var symbol = model.GetDeclaredSymbol(parameter);
                var shape = symbol?.GetAttributes()
                    .Where(a => KnownTypes.Is(a.AttributeClass, ctx.Known.ShapeAttribute))
                    .Select(a => a.ConstructorArguments.FirstOrDefault())
                    .Where(arg => arg.Kind == TypedConstantKind.Array)
                    .Select(arg => arg.Values.Select(v => v.Value is int i ? i : 0).ToArray())
                    .FirstOrDefault();
                if (shape is null || shape.Count(d => d == -1) > 1 || shape.Any(d => d < -1 || d == 0))
                {
                    ctx.Report(DiagnosticDescriptors.MissingInputShape, parameter, parameter.Identifier.ValueText, type.Name);
                    ok = false;
                    continue;
                }
                inputs.Add(translator.AddInput(parameter.Identifier.ValueText, shape, parameter));
            }
            return ok ? inputs : null;
        }

        /// <summary>The entries of [FusedModel(<paramref name="property"/> = …)], each with the location of its string literal where there is one.</summary>
        private static EquatableArray<KeepEntry> KeepList(System.Collections.Immutable.ImmutableArray<AttributeData> attributes, string property)
        {
            var entries = new List<KeepEntry>();
            foreach (var attribute in attributes)
            {
                foreach (var named in attribute.NamedArguments.Where(a => a.Key == property && a.Value.Kind == TypedConstantKind.Array))
                {
                    var values = named.Value.Values.Select(v => v.Value as string ?? "").ToList();
                    var argument = (attribute.ApplicationSyntaxReference?.GetSyntax() as AttributeSyntax)?.ArgumentList?.Arguments
                        .FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == property);
                    var literals = argument?.Expression.DescendantNodesAndSelf().OfType<LiteralExpressionSyntax>()
                        .Where(l => l.IsKind(SyntaxKind.StringLiteralExpression)).ToList();
                    for (int i = 0; i < values.Count; i++)
                    {
                        var at = literals is not null && literals.Count == values.Count ? literals[i] : (SyntaxNode?)argument;
                        entries.Add(new KeepEntry(values[i], LocationInfo.From(at)));
                    }
                }
            }
            return entries.ToEquatableArray();
        }

        private static (string Namespace, EquatableArray<string> Containing, string FileHint) Naming(INamedTypeSymbol type)
        {
            var ns = type.ContainingNamespace is { IsGlobalNamespace: false } n ? n.ToDisplayString() : "";
            var containing = new List<string>();
            for (var t = type.ContainingType; t is not null; t = t.ContainingType)
                containing.Insert(0, (t.IsRecord ? "record " : "") + (t.TypeKind == TypeKind.Struct ? "struct " : t.IsRecord ? "" : "class ") + t.Name);
            var hint = string.Join(".", new[] { ns }.Concat(containing.Select(c => c.Split(' ').Last())).Concat(new[] { type.Name }).Where(s => s.Length > 0));
            return (ns, containing.ToEquatableArray(), hint);
        }

        private static ModelGraph Empty(string ns, EquatableArray<string> containing, string name, string fileHint, ExtractionContext ctx) =>
            new(ns, containing, name, fileHint, EquatableArray<ParamInfo>.Empty, EquatableArray<Node>.Empty, -1, ctx.Diagnostics.ToEquatableArray());
    }
}
