using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Fusion.Generator.Frontend
{
    /// <summary>
    /// A field or property whose value can change after its initializer ran. The generator reads only the initializer, so
    /// using such a member as a constant in Forward would make the compiled Run keep the initial value while the eager
    /// Forward reads the current one. Such a member is never bound as a configuration value, and its use as a constant is
    /// an error (FUS015).
    /// </summary>
    /// <param name="Name">The member's name.</param>
    /// <param name="Owner">The type that declares it.</param>
    /// <param name="Reason">Why the value can change ("is not readonly", "has a setter", …).</param>
    internal sealed record MutableMember(string Name, string Owner, string Reason)
    {
        /// <summary>The member as a mutable one, or null when only its initializer can give it a value.</summary>
        public static MutableMember? Of(ISymbol member, SemanticModelCache models)
        {
            var reason = WhyMutable(member, models);
            return reason is null ? null : new MutableMember(member.Name, member.ContainingType.Name, reason);
        }

        private static string? WhyMutable(ISymbol member, SemanticModelCache models)
        {
            switch (member)
            {
                case IFieldSymbol { IsConst: true }:
                    return null;
                case IFieldSymbol { IsReadOnly: false }:
                    return "is not readonly";
                case IPropertySymbol { SetMethod: { IsInitOnly: true } }:
                    // An object initializer (new Model { Scale = 2 }) replaces the value after the initializer ran.
                    return "has an init accessor, so an object initializer can replace it";
                case IPropertySymbol { SetMethod: not null }:
                    return "has a setter";
            }
            // A readonly field or get-only property may still be assigned by a constructor body, which the generator does not run.
            return AssignedInConstructor(member, models) ? "is assigned in a constructor" : null;
        }

        private static bool AssignedInConstructor(ISymbol member, SemanticModelCache models)
        {
            var constructors = ModuleTreeBuilder.DeclarationsOf(member.ContainingType)
                .SelectMany(d => d.Members.OfType<ConstructorDeclarationSyntax>())
                .Where(c => c.Modifiers.Any(SyntaxKind.StaticKeyword) == member.IsStatic);
            foreach (var constructor in constructors)
            {
                var model = models.Get(constructor.SyntaxTree);
                foreach (var node in constructor.DescendantNodes())
                {
                    var target = node switch
                    {
                        AssignmentExpressionSyntax assignment => assignment.Left,
                        PrefixUnaryExpressionSyntax increment when increment.IsKind(SyntaxKind.PreIncrementExpression) || increment.IsKind(SyntaxKind.PreDecrementExpression) => increment.Operand,
                        PostfixUnaryExpressionSyntax increment when increment.IsKind(SyntaxKind.PostIncrementExpression) || increment.IsKind(SyntaxKind.PostDecrementExpression) => increment.Operand,
                        _ => null,
                    };
                    if (target is not null && SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(target).Symbol?.OriginalDefinition, member.OriginalDefinition))
                        return true;
                }
            }
            return false;
        }
    }
}
