using System.Collections.Generic;
using System.Linq;
using Fusion.Generator.Diagnostics;
using Fusion.Generator.Ir;
using Fusion.Generator.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace Fusion.Generator.Frontend
{
    /// <summary>State shared by the front-end steps for one model: symbols, evaluator, diagnostics and the parameter list.</summary>
    internal sealed class ExtractionContext
    {
        private readonly HashSet<(string Id, LocationInfo? Location, string Text)> _reported = new();

        public ExtractionContext(SemanticModel model)
        {
            Models = new SemanticModelCache(model);
            Known = new KnownTypes(model.Compilation);
            Evaluator = new ConstEvaluator(Models);
        }

        public SemanticModelCache Models { get; }

        public KnownTypes Known { get; }

        public ConstEvaluator Evaluator { get; }

        public List<DiagnosticInfo> Diagnostics { get; } = new();

        public List<ParamInfo> Parameters { get; } = new();

        /// <summary>Reports once per (id, location, message): an inlined sub-module may hit the same problem many times.</summary>
        public void Report(DiagnosticDescriptor descriptor, SyntaxNode? node, params string[] args) =>
            Report(descriptor, LocationInfo.From(node), args);

        /// <summary>Reports made so far, repeats included: tells a step whether what it called explained a failure.</summary>
        public int ReportCount { get; private set; }

        public void Report(DiagnosticDescriptor descriptor, LocationInfo? location, params string[] args)
        {
            ReportCount++;
            if (_reported.Add((descriptor.Id, location, string.Join("\u0001", args))))
                Diagnostics.Add(DiagnosticInfo.Create(descriptor, location, args));
        }

        public IOperation? OperationOf(SyntaxNode node) => Models.Get(node.SyntaxTree).GetOperation(node);

        public ISymbol? SymbolOf(SyntaxNode node) => Models.Get(node.SyntaxTree).GetSymbolInfo(node).Symbol;

        public ITypeSymbol? TypeOf(ExpressionSyntax node) => Models.Get(node.SyntaxTree).GetTypeInfo(node).Type;

        public bool IsTensorExpression(ExpressionSyntax node) => Known.IsTensor(TypeOf(node));

        /// <summary>Evaluates a constant, reporting at the expression when it is not one: FUS015 for a member that can change, else FUS007.</summary>
        public object? Constant(ExpressionSyntax expression, IReadOnlyDictionary<string, object> env, string what)
        {
            var value = Evaluator.Evaluate(expression, env, out var error, out var mutable);
            if (mutable is not null) Report(DiagnosticDescriptors.MutableConstant, expression, mutable.Name, mutable.Owner, mutable.Reason);
            else if (value is null) Report(DiagnosticDescriptors.NotConstant, expression, expression.ToString(), what + ": " + error);
            return value;
        }

        /// <summary>
        /// The constant value of one invocation or constructor argument: explicit (evaluated in
        /// <paramref name="env"/>), defaulted (its declared default), or a params array (each element).
        /// Returns long, double, bool, or long[] for arrays; null after reporting FUS007.
        /// </summary>
        public object? ArgumentConstant(IArgumentOperation argument, IReadOnlyDictionary<string, object> env)
        {
            var what = $"argument '{argument.Parameter?.Name}'";
            if (argument.ArgumentKind == ArgumentKind.DefaultValue)
            {
                var c = argument.Value.ConstantValue;
                return c.HasValue ? Normalize(c.Value) : null;
            }
            if (argument.Value is IArrayCreationOperation array)
            {
                var elements = array.Initializer?.ElementValues ?? System.Collections.Immutable.ImmutableArray<IOperation>.Empty;
                var values = new long[elements.Length];
                for (int i = 0; i < values.Length; i++)
                {
                    var v = ConstEvaluator.AsInteger(Constant(UnwrapConversion(elements[i]), env, what));
                    if (v is null) return null;
                    values[i] = v.Value;
                }
                return values;
            }
            var syntax = argument.Syntax is ArgumentSyntax a ? a.Expression : argument.Value.Syntax as ExpressionSyntax;
            return syntax is null ? null : Constant(syntax, env, what);
        }

        private static ExpressionSyntax UnwrapConversion(IOperation op) =>
            (ExpressionSyntax)(op is IConversionOperation conv && conv.IsImplicit ? conv.Operand.Syntax : op.Syntax);

        private static object? Normalize(object? value) => value switch
        {
            int i => (long)i,
            float f => (double)f,
            _ => value,
        };

        public static Dictionary<string, object> WithBinding(IReadOnlyDictionary<string, object> env, string name, object value)
        {
            var copy = env.ToDictionary(kv => kv.Key, kv => kv.Value);
            copy[name] = value;
            return copy;
        }
    }
}
