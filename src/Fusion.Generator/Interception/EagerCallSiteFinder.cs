using System.Linq;
using System.Threading;
using Fusion.Generator.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Fusion.Generator.Interception
{
    /// <summary>
    /// Finds the eager calls <c>receiver.Forward(...)</c> to a [FusedModel] class's own Forward that an interceptor may wrap
    /// in an EagerScope. The only step of this pipeline that sees symbols: it returns an <see cref="EagerCallSite"/>.
    /// </summary>
    internal static class EagerCallSiteFinder
    {
        private static readonly SymbolDisplayFormat s_typeFormat = SymbolDisplayFormat.FullyQualifiedFormat
            .AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

        /// <summary>Cheap syntactic filter: a member access named Forward being called (a method group, <c>model?.Forward(x)</c> and an unqualified <c>Forward(x)</c> are not intercepted).</summary>
        public static bool IsCandidate(SyntaxNode node) =>
            node is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name: IdentifierNameSyntax { Identifier.ValueText: "Forward" } } };

        public static EagerCallSite? Find(GeneratorSyntaxContext context, CancellationToken cancellationToken)
        {
            var invocation = (InvocationExpressionSyntax)context.Node;
            // base.Forward(x) is a non-virtual call; the interceptor's model.Forward(x) would dispatch back to the override.
            if (((MemberAccessExpressionSyntax)invocation.Expression).Expression is BaseExpressionSyntax) return null;

            var semantic = context.SemanticModel;
            if (semantic.GetSymbolInfo(invocation, cancellationToken).Symbol is not IMethodSymbol { IsStatic: false, IsGenericMethod: false, MethodKind: MethodKind.Ordinary } method)
                return null;
            var model = method.ContainingType;
            if (model.IsGenericType || !IsFusedModel(model) || method.ReturnType.ToDisplayString() != "Fusion.Tensor") return null;
            // The model's own members (a recursive or helper call) keep plain calls: only users' eager calls are scoped.
            if (IsInside(semantic.GetEnclosingSymbol(invocation.SpanStart, cancellationToken), model)) return null;
            // The interceptor lives outside every user type, so it can only name what the whole assembly can reach.
            var compilation = semantic.Compilation;
            if (!compilation.IsSymbolAccessibleWithin(method, compilation.Assembly) ||
                method.Parameters.Any(p => !compilation.IsSymbolAccessibleWithin(p.Type, compilation.Assembly)))
                return null;

            var location = semantic.GetInterceptableLocation(invocation, cancellationToken);
            if (location is null) return null;
            // "File.cs(12,5)" as in the model files' comments: no build machine's directories in generated text.
            var display = System.IO.Path.GetFileName(location.GetDisplayLocation());
            var parameters = method.Parameters.Select(p => new ForwardParameter(p.Type.ToDisplayString(s_typeFormat), Identifier(p.Name), Modifier(p))).ToEquatableArray();
            return new EagerCallSite(model.ToDisplayString(s_typeFormat), method.ReturnType.ToDisplayString(s_typeFormat), parameters,
                location.Version, location.Data, display, LocationInfo.From(invocation));
        }

        private static bool IsFusedModel(INamedTypeSymbol type) =>
            type.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == "Fusion.FusedModelAttribute");

        private static bool IsInside(ISymbol? symbol, INamedTypeSymbol type)
        {
            for (; symbol is not null; symbol = symbol.ContainingSymbol)
            {
                if (SymbolEqualityComparer.Default.Equals(symbol, type)) return true;
            }
            return false;
        }

        /// <summary>A parameter name as C# source: a keyword such as <c>@in</c> keeps its escape.</summary>
        private static string Identifier(string name) => SyntaxFacts.GetKeywordKind(name) == SyntaxKind.None ? name : "@" + name;

        private static string Modifier(IParameterSymbol parameter) => parameter.RefKind switch
        {
            RefKind.Ref => "ref",
            RefKind.Out => "out",
            RefKind.In => "in",
            RefKind.RefReadOnlyParameter => "ref readonly",
            _ => parameter.IsParams ? "params" : "",
        };
    }
}
