using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Fusion.Generator.Frontend
{
    /// <summary>
    /// Evaluates the constant expressions that fix a model's dimensions: literals, consts,
    /// names bound in the module's configuration (constructor parameters, readonly fields,
    /// lambda indices), static readonly members with initializers, arithmetic, comparisons,
    /// conditionals, casts and a few Math functions. A member whose value can change after its
    /// initializer ran is refused as a <see cref="MutableMember"/>.
    /// Integers evaluate to <see cref="long"/>, reals to <see cref="double"/>.
    /// </summary>
    internal sealed class ConstEvaluator
    {
        private readonly SemanticModelCache _models;
        private readonly HashSet<ISymbol> _evaluating = new(SymbolEqualityComparer.Default);

        public ConstEvaluator(SemanticModelCache models) => _models = models;

        /// <summary>Evaluates <paramref name="expression"/>; on failure returns null and says why in <paramref name="error"/>.</summary>
        public object? Evaluate(ExpressionSyntax expression, IReadOnlyDictionary<string, object> env, out string? error) =>
            Evaluate(expression, env, out error, out _);

        /// <summary>As above; when the failure is a member that can change, <paramref name="mutable"/> says which and why.</summary>
        public object? Evaluate(ExpressionSyntax expression, IReadOnlyDictionary<string, object> env, out string? error, out MutableMember? mutable)
        {
            error = null;
            mutable = null;
            try
            {
                return Eval(expression, env);
            }
            catch (NotConstantException e)
            {
                error = e.Message;
                mutable = e.Mutable;
                return null;
            }
        }

        public static long? AsInteger(object? value) => value switch
        {
            long l => l,
            int i => i,
            short s => s,
            byte b => b,
            _ => null,
        };

        public static double? AsReal(object? value) => value switch
        {
            double d => d,
            float f => f,
            long l => l,
            int i => i,
            _ => null,
        };

        private object Eval(ExpressionSyntax e, IReadOnlyDictionary<string, object> env)
        {
            switch (e)
            {
                case LiteralExpressionSyntax lit:
                    return Normalize(lit.Token.Value) ?? throw new NotConstantException($"literal '{lit}' is not a number or bool");
                case ParenthesizedExpressionSyntax p:
                    return Eval(p.Expression, env);
                case CheckedExpressionSyntax c:
                    return Eval(c.Expression, env);
                case PrefixUnaryExpressionSyntax u:
                    return Unary(u, Eval(u.Operand, env));
                case BinaryExpressionSyntax b:
                    return Binary(b, env);
                case ConditionalExpressionSyntax c:
                    return Eval(c.Condition, env) is bool cond
                        ? Eval(cond ? c.WhenTrue : c.WhenFalse, env)
                        : throw new NotConstantException($"condition '{c.Condition}' is not a bool");
                case CastExpressionSyntax cast:
                    return Cast(cast.Type.ToString(), Eval(cast.Expression, env));
                case IdentifierNameSyntax id when env.TryGetValue(id.Identifier.ValueText, out var bound):
                    return bound;
                case MemberAccessExpressionSyntax { Expression: ThisExpressionSyntax } m when env.TryGetValue(m.Name.Identifier.ValueText, out var field):
                    return field;
                case InvocationExpressionSyntax inv:
                    return MathCall(inv, env);
                case CollectionExpressionSyntax collection:
                    return IntegerArray(collection.Elements.Select(e => e is ExpressionElementSyntax x ? x.Expression : throw new NotConstantException($"'{e}' is not a constant element")), env);
                case ArrayCreationExpressionSyntax { Initializer: { } init }:
                    return IntegerArray(init.Expressions, env);
                case ImplicitArrayCreationExpressionSyntax implicitArray:
                    return IntegerArray(implicitArray.Initializer.Expressions, env);
                case ElementAccessExpressionSyntax { ArgumentList.Arguments.Count: 1 } element:
                    {
                        if (Eval(element.Expression, env) is not long[] array) throw new NotConstantException($"'{element.Expression}' is not a constant array");
                        var index = Eval(element.ArgumentList.Arguments[0].Expression, env) as long?
                            ?? throw new NotConstantException($"'{element.ArgumentList.Arguments[0]}' is not an integer index");
                        if (index < 0 || index >= array.Length) throw new NotConstantException($"index {index} is outside an array of {array.Length}");
                        return array[index];
                    }
            }

            var model = _models.Get(e.SyntaxTree);
            var constant = model.GetConstantValue(e);
            if (constant.HasValue && Normalize(constant.Value) is { } value) return value;
            if (e is IdentifierNameSyntax or MemberAccessExpressionSyntax && model.GetSymbolInfo(e).Symbol is { Kind: SymbolKind.Field or SymbolKind.Property } member)
                return Member(e, member);
            throw new NotConstantException($"'{e}' is not a constant or a configuration value");
        }

        /// <summary>
        /// A field or property the configuration did not bind: refused when its value can change, else (static members
        /// only: instance ones are bound per module) the value of its initializer.
        /// </summary>
        private object Member(ExpressionSyntax use, ISymbol member)
        {
            if (MutableMember.Of(member, _models) is { } mutable)
                throw new NotConstantException($"'{member.Name}' {mutable.Reason}") { Mutable = mutable };
            var initializer = member.IsStatic ? InitializerOf(member) : null;
            if (initializer is null) throw new NotConstantException($"'{use}' is not a constant or a configuration value");
            if (!_evaluating.Add(member)) throw new NotConstantException($"'{member.Name}' is initialized from itself");
            try
            {
                return Eval(initializer, new Dictionary<string, object>());
            }
            finally
            {
                _evaluating.Remove(member);
            }
        }

        private static ExpressionSyntax? InitializerOf(ISymbol member) =>
            member.DeclaringSyntaxReferences.Select(r => r.GetSyntax()).Select(s => s switch
            {
                VariableDeclaratorSyntax variable => variable.Initializer?.Value,
                PropertyDeclarationSyntax property => property.Initializer?.Value,
                _ => null,
            }).FirstOrDefault(i => i is not null);

        private long[] IntegerArray(IEnumerable<ExpressionSyntax> elements, IReadOnlyDictionary<string, object> env) =>
            elements.Select(e => Eval(e, env) is long l ? l : throw new NotConstantException($"'{e}' is not an integer")).ToArray();

        private static object? Normalize(object? value) => value switch
        {
            int i => (long)i,
            long l => l,
            short s => (long)s,
            byte b => (long)b,
            uint u => (long)u,
            float f => (double)f,
            double d => d,
            bool b => b,
            _ => null,
        };

        private static object Unary(PrefixUnaryExpressionSyntax u, object v)
        {
            switch (u.Kind())
            {
                case SyntaxKind.UnaryMinusExpression when v is long l: return -l;
                case SyntaxKind.UnaryMinusExpression when v is double d: return -d;
                case SyntaxKind.UnaryPlusExpression when v is long or double: return v;
                case SyntaxKind.LogicalNotExpression when v is bool b: return !b;
                default: throw new NotConstantException($"operator '{u.OperatorToken}' does not apply to {v}");
            }
        }

        private object Binary(BinaryExpressionSyntax b, IReadOnlyDictionary<string, object> env)
        {
            var kind = b.Kind();
            if (kind is SyntaxKind.LogicalAndExpression or SyntaxKind.LogicalOrExpression)
            {
                if (Eval(b.Left, env) is not bool l) throw new NotConstantException($"'{b.Left}' is not a bool");
                if (kind == SyntaxKind.LogicalAndExpression && !l) return false;
                if (kind == SyntaxKind.LogicalOrExpression && l) return true;
                return Eval(b.Right, env) is bool r ? r : throw new NotConstantException($"'{b.Right}' is not a bool");
            }

            var left = Eval(b.Left, env);
            var right = Eval(b.Right, env);
            if (left is long x && right is long y)
            {
                return kind switch
                {
                    SyntaxKind.AddExpression => x + y,
                    SyntaxKind.SubtractExpression => x - y,
                    SyntaxKind.MultiplyExpression => x * y,
                    SyntaxKind.DivideExpression => y == 0 ? throw new NotConstantException($"'{b}' divides by zero") : x / y,
                    SyntaxKind.ModuloExpression => y == 0 ? throw new NotConstantException($"'{b}' divides by zero") : x % y,
                    SyntaxKind.LeftShiftExpression => x << (int)y,
                    SyntaxKind.RightShiftExpression => x >> (int)y,
                    SyntaxKind.LessThanExpression => x < y,
                    SyntaxKind.LessThanOrEqualExpression => x <= y,
                    SyntaxKind.GreaterThanExpression => x > y,
                    SyntaxKind.GreaterThanOrEqualExpression => x >= y,
                    SyntaxKind.EqualsExpression => x == y,
                    SyntaxKind.NotEqualsExpression => x != y,
                    _ => throw new NotConstantException($"operator '{b.OperatorToken}' is not supported"),
                };
            }
            if (left is bool bl && right is bool br)
            {
                return kind switch
                {
                    SyntaxKind.EqualsExpression => bl == br,
                    SyntaxKind.NotEqualsExpression => bl != br,
                    _ => throw new NotConstantException($"operator '{b.OperatorToken}' is not supported on bools"),
                };
            }
            var dl = AsReal(left) ?? throw new NotConstantException($"'{b.Left}' is not a number");
            var dr = AsReal(right) ?? throw new NotConstantException($"'{b.Right}' is not a number");
            return kind switch
            {
                SyntaxKind.AddExpression => dl + dr,
                SyntaxKind.SubtractExpression => dl - dr,
                SyntaxKind.MultiplyExpression => dl * dr,
                SyntaxKind.DivideExpression => dl / dr,
                SyntaxKind.LessThanExpression => dl < dr,
                SyntaxKind.LessThanOrEqualExpression => dl <= dr,
                SyntaxKind.GreaterThanExpression => dl > dr,
                SyntaxKind.GreaterThanOrEqualExpression => dl >= dr,
                SyntaxKind.EqualsExpression => dl == dr,
                SyntaxKind.NotEqualsExpression => dl != dr,
                _ => throw new NotConstantException($"operator '{b.OperatorToken}' is not supported on reals"),
            };
        }

        private static object Cast(string type, object v)
        {
            switch (type)
            {
                case "int":
                case "long":
                    if (v is long) return v;
                    if (v is double d) return (long)d;
                    break;
                case "float":
                    if (AsReal(v) is double f) return (double)(float)f;
                    break;
                case "double":
                    if (AsReal(v) is double r) return r;
                    break;
            }
            throw new NotConstantException($"cannot cast {v} to {type}");
        }

        private object MathCall(InvocationExpressionSyntax inv, IReadOnlyDictionary<string, object> env)
        {
            // Math.Sqrt(x), MathF.Sqrt(x), Math.Pow(x, y), Math.Max/Min/Abs.
            if (inv.Expression is not MemberAccessExpressionSyntax { Expression: IdentifierNameSyntax owner } member
                || owner.Identifier.ValueText is not ("Math" or "MathF"))
            {
                throw new NotConstantException($"'{inv}' is not a constant or a Math function of constants");
            }
            bool single = owner.Identifier.ValueText == "MathF";
            var values = inv.ArgumentList.Arguments.Select(a => Eval(a.Expression, env)).ToList();
            var args = new List<double>();
            for (int i = 0; i < values.Count; i++)
            {
                args.Add(AsReal(values[i]) ?? throw new NotConstantException($"'{inv.ArgumentList.Arguments[i]}' is not a number"));
            }
            double result = (member.Name.Identifier.ValueText, args.Count) switch
            {
                ("Sqrt", 1) => Math.Sqrt(args[0]),
                ("Pow", 2) => Math.Pow(args[0], args[1]),
                ("Max", 2) => Math.Max(args[0], args[1]),
                ("Min", 2) => Math.Min(args[0], args[1]),
                ("Abs", 1) => Math.Abs(args[0]),
                _ => throw new NotConstantException($"'{inv}' is not a supported Math function (Sqrt, Pow, Max, Min, Abs)"),
            };
            if (single) result = (float)result;
            // Max/Min/Abs of integers stay integers.
            bool allIntegers = values.All(v => v is long);
            if (allIntegers && member.Name.Identifier.ValueText is "Max" or "Min" or "Abs") return (long)result;
            return result;
        }

        private sealed class NotConstantException : Exception
        {
            public NotConstantException(string message) : base(message) { }

            public MutableMember? Mutable { get; set; }
        }
    }

    /// <summary>One semantic model per syntax tree, created on demand.</summary>
    internal sealed class SemanticModelCache
    {
        private readonly Compilation _compilation;
        private readonly Dictionary<SyntaxTree, SemanticModel> _models = new();

        public SemanticModelCache(SemanticModel first)
        {
            _compilation = first.Compilation;
            _models[first.SyntaxTree] = first;
        }

        public Compilation Compilation => _compilation;

        public SemanticModel Get(SyntaxTree tree)
        {
            if (!_models.TryGetValue(tree, out var model))
            {
                model = _compilation.GetSemanticModel(tree);
                _models[tree] = model;
            }
            return model;
        }
    }

}
