using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using Fusion.Compiler;
using Fusion.Generator.Diagnostics;
using Fusion.Generator.Ir;
using Fusion.Generator.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace Fusion.Generator.Frontend
{
    /// <summary>
    /// Translates Forward methods into graph nodes, inlining sub-modules' Forward calls, unrolling
    /// foreach over module lists and taking if-branches whose condition is a compile-time constant.
    /// </summary>
    internal sealed class ForwardTranslator
    {
        private readonly ExtractionContext _ctx;
        private readonly List<Node> _nodes = new();
        private readonly Dictionary<string, int> _paramNodes = new();

        public ForwardTranslator(ExtractionContext ctx) => _ctx = ctx;

        public IReadOnlyList<Node> Nodes => _nodes;

        public int AddInput(string name, IEnumerable<int> dims, SyntaxNode declaration)
        {
            return NewNode(Ops.Input.Name, Enumerable.Empty<int>(), AttributeSet.Of(OpAttribute.IntList("shape", dims.Select(d => (long)d))), name,
                declaration.ToString(), "", declaration);
        }

        /// <summary>Translates <paramref name="module"/>'s Forward with <paramref name="arguments"/> bound to its parameters; returns the result value or null after reporting.</summary>
        public int? TranslateModule(ModuleInstance module, IReadOnlyList<int> arguments, SyntaxNode callSite)
        {
            var forward = FindForward(module.Type);
            if (forward is null && module.Type.DeclaringSyntaxReferences.IsEmpty)
            {
                _ctx.Report(DiagnosticDescriptors.ModuleWithoutSource, callSite, module.Type.Name, module.Type.ContainingAssembly?.Name ?? "?");
                return null;
            }
            if (forward is null)
            {
                _ctx.Report(DiagnosticDescriptors.MissingForward, callSite, module.Type.Name);
                return null;
            }
            if (forward.ParameterList.Parameters.Count != arguments.Count)
            {
                _ctx.Report(DiagnosticDescriptors.CannotTranslate, callSite, Flatten(callSite), module.Type.Name,
                    $"Forward takes {forward.ParameterList.Parameters.Count} tensors, {arguments.Count} given");
                return null;
            }

            var frame = new Frame(module);
            for (int i = 0; i < arguments.Count; i++) frame.Tensors[forward.ParameterList.Parameters[i].Identifier.ValueText] = arguments[i];

            if (forward.ExpressionBody is { } arrow) return TranslateTensor(arrow.Expression, frame);
            if (forward.Body is { } body) TranslateStatement(body, frame);
            if (frame.Returned is null && frame.Complete)
                _ctx.Report(DiagnosticDescriptors.CannotTranslate, forward.Identifier.Parent, "Forward", module.Type.Name, "no return statement was reached");
            return frame.Returned;
        }

        public static MethodDeclarationSyntax? FindForward(INamedTypeSymbol type) =>
            ModuleTreeBuilder.DeclarationsOf(type).SelectMany(d => d.Members).OfType<MethodDeclarationSyntax>()
                .FirstOrDefault(m => m.Identifier.ValueText == "Forward");

        private void TranslateStatement(StatementSyntax statement, Frame frame)
        {
            // Stop at the first error in a body: later statements would only report its consequences.
            if (frame.Returned is not null || !frame.Complete) return;
            switch (statement)
            {
                case BlockSyntax block:
                    foreach (var s in block.Statements) TranslateStatement(s, frame);
                    break;
                case LocalDeclarationStatementSyntax local:
                    foreach (var variable in local.Declaration.Variables)
                    {
                        if (variable.Initializer is null) { Unsupported(variable, frame, "a local must be initialized where it is declared"); continue; }
                        Assign(variable.Identifier.ValueText, variable.Initializer.Value, frame);
                    }
                    break;
                case ExpressionStatementSyntax { Expression: AssignmentExpressionSyntax { Left: IdentifierNameSyntax target } assignment }
                    when assignment.IsKind(SyntaxKind.SimpleAssignmentExpression):
                    Assign(target.Identifier.ValueText, assignment.Right, frame);
                    break;
                case ExpressionStatementSyntax { Expression: InvocationExpressionSyntax invocation }:
                    // The result is dropped; dead-code elimination reports it as unused (FUS003).
                    TranslateTensor(invocation, frame);
                    break;
                case ReturnStatementSyntax { Expression: { } value }:
                    frame.Returned = TranslateTensor(value, frame);
                    if (frame.Returned is null) frame.Complete = false;
                    break;
                case IfStatementSyntax branch:
                    if (_ctx.Constant(branch.Condition, frame.Consts, "an if condition in Forward") is bool taken)
                    {
                        if (taken) TranslateStatement(branch.Statement, frame);
                        else if (branch.Else is not null) TranslateStatement(branch.Else.Statement, frame);
                    }
                    else
                    {
                        frame.Complete = false;
                    }
                    break;
                case ForEachStatementSyntax loop:
                    var modules = Resolve(loop.Expression, frame);
                    if (modules is ReportedBinding)
                    {
                        AlreadyReported(frame);
                    }
                    else if (modules is ModuleListBinding list)
                    {
                        var name = loop.Identifier.ValueText;
                        foreach (var module in list.Modules)
                        {
                            frame.LoopModules[name] = module;
                            TranslateStatement(loop.Statement, frame);
                        }
                        frame.LoopModules.Remove(name);
                    }
                    else
                    {
                        Unsupported(loop.Expression, frame, "foreach is supported over a sub-module list only");
                    }
                    break;
                case EmptyStatementSyntax:
                    break;
                default:
                    Unsupported(statement, frame, "this kind of statement is not supported");
                    break;
            }
        }

        private void Assign(string name, ExpressionSyntax value, Frame frame)
        {
            if (_ctx.IsTensorExpression(value))
            {
                var id = TranslateTensor(value, frame);
                if (id is null) frame.Complete = false;
                else frame.Tensors[name] = id.Value;
            }
            else
            {
                var constant = _ctx.Constant(value, frame.Consts, $"local '{name}'");
                if (constant is not null) frame.Consts[name] = constant;
            }
        }

        private int? TranslateTensor(ExpressionSyntax expression, Frame frame)
        {
            switch (expression)
            {
                case IdentifierNameSyntax id:
                    if (frame.Tensors.TryGetValue(id.Identifier.ValueText, out var value)) return value;
                    var resolved = Resolve(id, frame);
                    if (resolved is LayerBinding { Kind: LayerKind.Parameter } named) return ParamNode(named.Parameters[""], id, frame);
                    if (resolved is ReportedBinding) return AlreadyReported(frame);
                    return Unsupported(id, frame, $"'{id}' is not a tensor computed in Forward");
                case MemberAccessExpressionSyntax member when Resolve(member, frame) is LayerBinding { Kind: LayerKind.Parameter } parameter:
                    // A Parameter used as a tensor (its implicit conversion): the parameter itself, as F.Value(p) would give.
                    return ParamNode(parameter.Parameters[""], member, frame);
                case MemberAccessExpressionSyntax member when Resolve(member, frame) is ReportedBinding:
                    return AlreadyReported(frame);
                case ParenthesizedExpressionSyntax p:
                    return TranslateTensor(p.Expression, frame);
                case InvocationExpressionSyntax invocation:
                    var method = _ctx.SymbolOf(invocation) as IMethodSymbol;
                    if (method is not null && KnownTypes.Is(method.ContainingType, _ctx.Known.Operators))
                        return TranslateOperator(invocation, method, frame);
                    if (method is { Name: "Forward" } && invocation.Expression is MemberAccessExpressionSyntax call)
                        return TranslateSubmoduleCall(invocation, call.Expression, frame);
                    return Unsupported(invocation, frame, "only Fusion.F operators and sub-modules' Forward can be called");
                default:
                    return Unsupported(expression, frame, "expected a tensor local, an F operator call or a sub-module's Forward call");
            }
        }

        private int? TranslateSubmoduleCall(InvocationExpressionSyntax invocation, ExpressionSyntax receiver, Frame frame)
        {
            var resolved = Resolve(receiver, frame);
            if (resolved is ReportedBinding) return AlreadyReported(frame);
            if (resolved is not ModuleInstance module)
                return Unsupported(receiver, frame, "the receiver of Forward must be a sub-module member or list element");
            var arguments = new List<int>();
            foreach (var argument in invocation.ArgumentList.Arguments)
            {
                var id = TranslateTensor(argument.Expression, frame);
                if (id is null) return null;
                arguments.Add(id.Value);
            }
            return TranslateModule(module, arguments, invocation);
        }

        /// <summary>Resolves a member chain (attn, this.attn, blocks[1], stage.blocks[0], a foreach variable) in the current module.</summary>
        private object? Resolve(ExpressionSyntax expression, Frame frame)
        {
            switch (expression)
            {
                case IdentifierNameSyntax id:
                    if (frame.LoopModules.TryGetValue(id.Identifier.ValueText, out var looped)) return looped;
                    return Member(frame.Module, id.Identifier.ValueText);
                case MemberAccessExpressionSyntax { Expression: ThisExpressionSyntax } m:
                    return Member(frame.Module, m.Name.Identifier.ValueText);
                case MemberAccessExpressionSyntax m:
                    return Resolve(m.Expression, frame) switch
                    {
                        ModuleInstance owner => Member(owner, m.Name.Identifier.ValueText),
                        ReportedBinding reported => reported, // a member of something already reported
                        _ => null,
                    };
                case ElementAccessExpressionSyntax { ArgumentList.Arguments.Count: 1 } element:
                    var collection = Resolve(element.Expression, frame);
                    if (collection is ReportedBinding) return collection;
                    if (collection is not ModuleListBinding list) return null;
                    var index = ConstEvaluator.AsInteger(_ctx.Constant(element.ArgumentList.Arguments[0].Expression, frame.Consts, "a module list index"));
                    if (index is null) return null;
                    if (index < 0 || index >= list.Modules.Count)
                    {
                        Unsupported(element, frame, $"index {index} is outside the list of {list.Modules.Count} modules");
                        return null;
                    }
                    return list.Modules[(int)index.Value];
                case ParenthesizedExpressionSyntax p:
                    return Resolve(p.Expression, frame);
                case PostfixUnaryExpressionSyntax bang when bang.IsKind(SyntaxKind.SuppressNullableWarningExpression):
                    return Resolve(bang.Operand, frame);
                default:
                    return null;
            }
        }

        private static object? Member(ModuleInstance module, string name) =>
            module.Members.TryGetValue(name, out var member)
                ? member switch
                {
                    SubmoduleBinding s => s.Module,
                    _ => member,
                }
                : null;

        /// <summary>
        /// A call of an F operator: its operator's descriptor says how it becomes graph nodes (<see cref="OpDescriptor.Translate"/>).
        /// Tensor arguments (single or arrays) become inputs, a float where the descriptor has an operand a scalar constant node,
        /// a layer argument its parameters, and every other constant argument an attribute named like its parameter.
        /// </summary>
        private int? TranslateOperator(InvocationExpressionSyntax invocation, IMethodSymbol method, Frame frame)
        {
            if (_ctx.OperationOf(invocation) is not IInvocationOperation operation) return null;
            if (!Ops.TryGet(method.Name, out var descriptor))
                return Unsupported(invocation, frame, $"F.{method.Name} has no graph translation");
            var call = new OperatorCall(this, invocation, frame, method.Name);
            foreach (var argument in operation.Arguments)
            {
                var parameter = argument.Parameter!;
                if (_ctx.Known.IsTensor(parameter.Type))
                {
                    var id = TranslateTensor(((ArgumentSyntax)argument.Syntax).Expression, frame);
                    if (id is null) return null;
                    call.TensorList.Add(id.Value);
                }
                else if (parameter.Type is IArrayTypeSymbol { ElementType: var element } && _ctx.Known.IsTensor(element))
                {
                    var elements = TensorArguments(argument);
                    if (elements is null) return Unsupported(argument.Syntax, frame, "a tensor list must be written out as arguments or an array of tensors");
                    foreach (var e in elements)
                    {
                        var id = TranslateTensor(e, frame);
                        if (id is null) return null;
                        call.TensorList.Add(id.Value);
                    }
                }
                else if (_ctx.Known.IsLayer(parameter.Type))
                {
                    var syntax = ((ArgumentSyntax)argument.Syntax).Expression;
                    var resolved = Resolve(syntax, frame);
                    if (resolved is ReportedBinding) return AlreadyReported(frame);
                    call.Layer = resolved as LayerBinding;
                    if (call.Layer is null)
                    {
                        _ctx.Report(DiagnosticDescriptors.ParameterWithoutMember, syntax, syntax.ToString(), frame.Module.Type.Name);
                        return null;
                    }
                }
                else
                {
                    var value = _ctx.ArgumentConstant(argument, frame.Consts);
                    if (value is null) return null;
                    if (descriptor.Operands.Contains(parameter.Name) && ConstEvaluator.AsReal(value) is double scalar)
                        call.TensorList.Add(call.Add(Ops.Const.Name, Enumerable.Empty<int>(), AttributeSet.Of(OpAttribute.Real("value", scalar))));
                    else
                        call.Constants[parameter.Name] = value;
                }
            }
            int result = descriptor.Translate(call);
            return result < 0 ? null : result;
        }

        /// <summary>The element expressions of a tensor-array argument (params or an array creation), or null.</summary>
        private static IEnumerable<ExpressionSyntax>? TensorArguments(IArgumentOperation argument)
        {
            var value = argument.Value is IConversionOperation { IsImplicit: true } conversion ? conversion.Operand : argument.Value;
            return value switch
            {
                IArrayCreationOperation { Initializer: { } init } => init.ElementValues.Select(v => (ExpressionSyntax)(v is IConversionOperation { IsImplicit: true } c ? c.Operand.Syntax : v.Syntax)),
                ICollectionExpressionOperation collection => collection.Elements.Select(v => (ExpressionSyntax)v.Syntax),
                _ => null,
            };
        }

        /// <summary>One operator call being translated, as its descriptor sees it.</summary>
        private sealed class OperatorCall(ForwardTranslator translator, InvocationExpressionSyntax invocation, Frame frame, string method) : IOpCall
        {
            public List<int> TensorList { get; } = new();

            public Dictionary<string, object> Constants { get; } = new();

            public LayerBinding? Layer { get; set; }

            public string Method => method;

            public IReadOnlyList<int> Tensors => TensorList;

            public AttributeSet ConstantAttributes() => AttributeSet.Of(Constants.Select(kv => kv.Value switch
            {
                long[] list => OpAttribute.IntList(kv.Key, list),
                bool b => OpAttribute.Int(kv.Key, b ? 1 : 0),
                long l => OpAttribute.Int(kv.Key, l),
                double d => OpAttribute.Real(kv.Key, d),
                _ => OpAttribute.Real(kv.Key, System.Convert.ToDouble(kv.Value, System.Globalization.CultureInfo.InvariantCulture)),
            }).ToArray());

            public int LayerParameter(string key) =>
                Layer is not null && Layer.Parameters.TryGetValue(key, out var p) ? translator.ParamNode(p, invocation, frame) : -1;

            public object? LayerArgument(string name) => Layer is not null && Layer.Args.TryGetValue(name, out var v) ? v : null;

            public int Add(string op, IEnumerable<int> inputs, AttributeSet attributes) =>
                translator.NewNode(op, inputs, attributes, "", Flatten(invocation), frame.Module.Scope, invocation);

            public int Fail(string why) => translator.Unsupported(invocation, frame, why) ?? -1;
        }

        private int ParamNode(ParamInfo parameter, SyntaxNode site, Frame frame)
        {
            if (!_paramNodes.TryGetValue(parameter.Key, out var id))
            {
                id = NewNode(Ops.Param.Name, Enumerable.Empty<int>(), AttributeSet.Of(OpAttribute.IntList("shape", parameter.Shape.Select(d => (long)d))),
                    parameter.Key, parameter.AccessPath, frame.Module.Scope, site);
                _paramNodes[parameter.Key] = id;
            }
            return id;
        }

        private int NewNode(string op, IEnumerable<int> inputs, AttributeSet attributes, string name, string source, string scope, SyntaxNode site)
        {
            int id = _nodes.Count;
            _nodes.Add(new Node(id, op, inputs.ToEquatableArray(), attributes, name, source, scope, LocationInfo.From(site)));
            return id;
        }

        /// <summary>Stops translating a body at a use of a member whose declaration was already reported, adding nothing.</summary>
        private static int? AlreadyReported(Frame frame)
        {
            frame.Complete = false;
            return null;
        }

        private int? Unsupported(SyntaxNode node, Frame frame, string why)
        {
            _ctx.Report(DiagnosticDescriptors.CannotTranslate, node, Flatten(node), frame.Module.Type.Name + ".Forward", why);
            frame.Complete = false;
            return null;
        }

        /// <summary>The node's text on one line, for messages and reports.</summary>
        public static string Flatten(SyntaxNode node) => Regex.Replace(node.ToString(), @"\s+", " ").Trim();

        /// <summary>Translation state of one Forward body.</summary>
        private sealed class Frame
        {
            public Frame(ModuleInstance module)
            {
                Module = module;
                Consts = new Dictionary<string, object>(module.Config);
            }

            public ModuleInstance Module { get; }

            public Dictionary<string, int> Tensors { get; } = new();

            public Dictionary<string, object> Consts { get; }

            public Dictionary<string, ModuleInstance> LoopModules { get; } = new();

            public int? Returned { get; set; }

            /// <summary>False once an error stopped translation, so no follow-up "no return" is reported.</summary>
            public bool Complete { get; set; } = true;
        }
    }
}
