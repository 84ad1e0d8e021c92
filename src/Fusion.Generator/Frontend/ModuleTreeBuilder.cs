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
    /// <summary>
    /// Instantiates a module tree the way the constructors would at run time, but symbolically:
    /// evaluates each member's initializer (layers, sub-modules, lists of sub-modules, config values)
    /// and records every parameter with its state-dict key, access path and shape.
    /// </summary>
    internal sealed class ModuleTreeBuilder
    {
        private readonly ExtractionContext _ctx;

        public ModuleTreeBuilder(ExtractionContext ctx) => _ctx = ctx;

        public ModuleInstance Build(INamedTypeSymbol type, IReadOnlyDictionary<string, object> ctorArgs, string keyPrefix, string accessPath, ModuleInstance? parent)
        {
            var instance = new ModuleInstance(type, keyPrefix, accessPath, parent);
            foreach (var kv in ctorArgs) instance.Config[kv.Key] = kv.Value;

            foreach (var declaration in DeclarationsOf(type))
            {
                var model = _ctx.Models.Get(declaration.SyntaxTree);
                foreach (var member in declaration.Members)
                {
                    switch (member)
                    {
                        case FieldDeclarationSyntax field:
                            foreach (var variable in field.Declaration.Variables)
                            {
                                if (variable.Initializer is not null && model.GetDeclaredSymbol(variable) is IFieldSymbol { IsStatic: false } f)
                                    Bind(instance, f, f.Type, variable.Initializer.Value, variable);
                            }
                            break;
                        case PropertyDeclarationSyntax property when property.Initializer is not null:
                            if (model.GetDeclaredSymbol(property) is IPropertySymbol { IsStatic: false } p)
                                Bind(instance, p, p.Type, property.Initializer.Value, property);
                            break;
                    }
                }
            }
            return instance;
        }

        public static IEnumerable<TypeDeclarationSyntax> DeclarationsOf(INamedTypeSymbol type) =>
            type.DeclaringSyntaxReferences.Select(r => r.GetSyntax()).OfType<TypeDeclarationSyntax>();

        private void Bind(ModuleInstance instance, ISymbol member, ITypeSymbol type, ExpressionSyntax initializer, SyntaxNode declaration)
        {
            var known = _ctx.Known;
            string key = KeyOf(member);
            bool holdsParameters = known.IsLayer(type) || known.IsModule(type) || (type is IArrayTypeSymbol a && known.IsModule(a.ElementType));
            if (holdsParameters && instance.Parent is not null && member.DeclaredAccessibility is Accessibility.Private or Accessibility.Protected or Accessibility.ProtectedAndInternal)
            {
                _ctx.Report(DiagnosticDescriptors.MemberNotAccessible, declaration, member.Name, instance.Type.Name);
                instance.Members[member.Name] = new ReportedBinding(member.Name, declaration.GetLocation());
                return;
            }

            int reportsBefore = _ctx.ReportCount;
            if (known.IsLayer(type))
            {
                var layer = BuildLayer(instance, member.Name, key, initializer, instance.Config);
                if (layer is not null) instance.Members[member.Name] = layer;
            }
            else if (known.IsModule(type))
            {
                // An optional sub-module: "condition ? new X(...) : null" with a constant condition.
                if (initializer is ConditionalExpressionSyntax optional)
                {
                    if (_ctx.Constant(optional.Condition, instance.Config, "the condition of an optional sub-module") is not bool present)
                    {
                        MarkReported(instance, member, declaration, reportsBefore);
                        return;
                    }
                    initializer = present ? optional.WhenTrue : optional.WhenFalse;
                }
                if (initializer.IsKind(Microsoft.CodeAnalysis.CSharp.SyntaxKind.NullLiteralExpression)) return; // absent: Forward must not use it
                // [Key("")] flattens: the sub-module's keys sit at this module's level (a model wrapping a configurable one).
                var prefix = key.Length == 0 ? instance.KeyPrefix : instance.KeyPrefix + key + ".";
                var access = instance.AccessPath + "." + member.Name + (type.NullableAnnotation == NullableAnnotation.Annotated ? "!" : "");
                var sub = BuildSubmodule(instance, initializer, instance.Config, prefix, access);
                if (sub is not null) instance.Members[member.Name] = new SubmoduleBinding(member.Name, declaration.GetLocation(), sub);
            }
            else if (type is IArrayTypeSymbol array && known.IsModule(array.ElementType))
            {
                var list = BuildList(instance, member.Name, key, initializer);
                if (list is not null) instance.Members[member.Name] = new ModuleListBinding(member.Name, declaration.GetLocation(), list);
            }
            else if (type.SpecialType is SpecialType.System_Int32 or SpecialType.System_Int64 or SpecialType.System_Single or SpecialType.System_Double or SpecialType.System_Boolean)
            {
                // A configuration value; only its use in Forward makes a failed evaluation an error. A member that can
                // change stays unbound, so its use is reported (FUS015) instead of compiling the initial value.
                if (MutableMember.Of(member, _ctx.Models) is not null) return;
                var value = _ctx.Evaluator.Evaluate(initializer, instance.Config, out _);
                if (value is not null) instance.Config[member.Name] = value;
            }
            if (holdsParameters && !instance.Members.ContainsKey(member.Name)) MarkReported(instance, member, declaration, reportsBefore);
        }

        /// <summary>
        /// Records a parameter-holding member that could not be built, when building it reported why, so its uses in Forward
        /// add no second diagnostic for the same cause.
        /// </summary>
        private void MarkReported(ModuleInstance instance, ISymbol member, SyntaxNode declaration, int reportsBefore)
        {
            if (_ctx.ReportCount > reportsBefore) instance.Members[member.Name] = new ReportedBinding(member.Name, declaration.GetLocation());
        }

        private string KeyOf(ISymbol member)
        {
            foreach (var attribute in member.GetAttributes())
            {
                if (KnownTypes.Is(attribute.AttributeClass, _ctx.Known.KeyAttribute) && attribute.ConstructorArguments.Length == 1 && attribute.ConstructorArguments[0].Value is string key)
                    return key;
            }
            return member.Name;
        }

        private LayerBinding? BuildLayer(ModuleInstance instance, string memberName, string key, ExpressionSyntax initializer, IReadOnlyDictionary<string, object> env)
        {
            if (_ctx.OperationOf(initializer) is not IObjectCreationOperation creation || creation.Type is not INamedTypeSymbol layerType)
            {
                _ctx.Report(DiagnosticDescriptors.ParameterWithoutMember, initializer, memberName, instance.Type.Name);
                return null;
            }
            var args = EvaluateArguments(creation.Arguments, env);
            if (args is null) return null;

            var known = _ctx.Known;
            var prefix = instance.KeyPrefix + key;
            var access = instance.AccessPath + "." + memberName;
            var parameters = new Dictionary<string, ParamInfo>();
            LayerKind kind;
            if (KnownTypes.Is(layerType, known.Linear))
            {
                kind = LayerKind.Linear;
                long inF = (long)args["inFeatures"], outF = (long)args["outFeatures"];
                parameters["weight"] = AddParam(prefix + ".weight", access + ".weight", outF, inF);
                if (args.TryGetValue("bias", out var b) && b is true) parameters["bias"] = AddParam(prefix + ".bias", access + ".bias!", outF);
            }
            else if (KnownTypes.Is(layerType, known.LayerNorm))
            {
                kind = LayerKind.LayerNorm;
                long dim = (long)args["dim"];
                parameters["weight"] = AddParam(prefix + ".weight", access + ".weight", dim);
                parameters["bias"] = AddParam(prefix + ".bias", access + ".bias", dim);
            }
            else if (KnownTypes.Is(layerType, known.RmsNorm))
            {
                kind = LayerKind.RmsNorm;
                parameters["weight"] = AddParam(prefix + ".weight", access + ".weight", (long)args["dim"]);
            }
            else if (KnownTypes.Is(layerType, known.PatchConv))
            {
                kind = LayerKind.PatchConv;
                long inC = (long)args["inChannels"], outC = (long)args["outChannels"], p = (long)args["patch"];
                parameters["weight"] = AddParam(prefix + ".weight", access + ".weight", outC, inC, p, p);
                parameters["bias"] = AddParam(prefix + ".bias", access + ".bias", outC);
            }
            else if (KnownTypes.Is(layerType, known.Conv2d))
            {
                kind = LayerKind.Conv2d;
                long inC = (long)args["inChannels"], outC = (long)args["outChannels"], k = (long)args["kernel"];
                long groups = (long)args["groups"], stride = (long)args["stride"], padding = (long)args["padding"], dilation = (long)args["dilation"];
                if (inC < 1 || outC < 1 || k < 1 || stride < 1 || dilation < 1 || padding < 0 || groups < 1 || inC % groups != 0 || outC % groups != 0)
                {
                    _ctx.Report(DiagnosticDescriptors.InvalidLayer, initializer, initializer.ToString(),
                        $"Conv2d({inC}, {outC}, kernel {k}, stride {stride}, padding {padding}, dilation {dilation}, groups {groups}): sizes must be positive, padding ≥ 0, and the groups must divide both channel counts");
                    return null;
                }
                parameters["weight"] = AddParam(prefix + ".weight", access + ".weight", outC, inC / groups, k, k);
                if (args.TryGetValue("bias", out var b) && b is true) parameters["bias"] = AddParam(prefix + ".bias", access + ".bias!", outC);
            }
            else if (KnownTypes.Is(layerType, known.BatchNorm2d))
            {
                kind = LayerKind.BatchNorm2d;
                long channels = (long)args["channels"];
                if (channels < 1)
                {
                    _ctx.Report(DiagnosticDescriptors.InvalidLayer, initializer, initializer.ToString(), $"BatchNorm2d needs at least one channel, got {channels}");
                    return null;
                }
                foreach (var name in new[] { "weight", "bias", "running_mean", "running_var" })
                    parameters[name] = AddParam(prefix + "." + name, access + "." + name, channels);
            }
            else
            {
                kind = LayerKind.Parameter;
                parameters[""] = AddParam(prefix, access, (long[])args["shape"]);
            }
            return new LayerBinding(memberName, initializer.GetLocation(), kind, args, parameters);
        }

        private ParamInfo AddParam(string key, string access, params long[] shape)
        {
            var info = new ParamInfo(key, access, shape.Select(d => (int)d).ToEquatableArray());
            _ctx.Parameters.Add(info);
            return info;
        }

        private ModuleInstance? BuildSubmodule(ModuleInstance parent, ExpressionSyntax creationSyntax, IReadOnlyDictionary<string, object> env, string keyPrefix, string accessPath)
        {
            if (_ctx.OperationOf(creationSyntax) is not IObjectCreationOperation creation || creation.Type is not INamedTypeSymbol type)
            {
                _ctx.Report(DiagnosticDescriptors.NotConstant, creationSyntax, creationSyntax.ToString(), "a sub-module member must be initialized with new(...)");
                return null;
            }
            if (parent.Contains(type))
            {
                _ctx.Report(DiagnosticDescriptors.RecursiveModule, creationSyntax, type.Name, keyPrefix.TrimEnd('.'));
                return null;
            }
            var args = EvaluateArguments(creation.Arguments, env);
            return args is null ? null : Build(type, args, keyPrefix, accessPath, parent);
        }

        private List<ModuleInstance>? BuildList(ModuleInstance instance, string memberName, string key, ExpressionSyntax initializer)
        {
            var elements = new List<(ExpressionSyntax Creation, IReadOnlyDictionary<string, object> Env)>();
            switch (initializer)
            {
                case CollectionExpressionSyntax collection:
                    foreach (var element in collection.Elements)
                    {
                        if (element is ExpressionElementSyntax e) elements.Add((e.Expression, instance.Config));
                        else { _ctx.Report(DiagnosticDescriptors.NotConstant, element, element.ToString(), "list elements must be new(...) expressions"); return null; }
                    }
                    break;
                case ArrayCreationExpressionSyntax { Initializer: { } init }:
                    elements.AddRange(init.Expressions.Select(e => (e, (IReadOnlyDictionary<string, object>)instance.Config)));
                    break;
                case ImplicitArrayCreationExpressionSyntax implicitArray:
                    elements.AddRange(implicitArray.Initializer.Expressions.Select(e => (e, (IReadOnlyDictionary<string, object>)instance.Config)));
                    break;
                case InvocationExpressionSyntax { ArgumentList.Arguments.Count: 2 } repeat
                    when _ctx.SymbolOf(repeat) is IMethodSymbol { Name: "Repeat" } method && KnownTypes.Is(method.ContainingType, _ctx.Known.Module):
                    {
                        var count = ConstEvaluator.AsInteger(_ctx.Constant(repeat.ArgumentList.Arguments[0].Expression, instance.Config, "the number of repeated modules"));
                        if (count is null) return null;
                        if (repeat.ArgumentList.Arguments[1].Expression is not SimpleLambdaExpressionSyntax { ExpressionBody: { } body } lambda)
                        {
                            _ctx.Report(DiagnosticDescriptors.NotConstant, repeat.ArgumentList.Arguments[1], repeat.ArgumentList.Arguments[1].ToString(), "Repeat takes a lambda 'i => new(...)'");
                            return null;
                        }
                        for (long i = 0; i < count; i++)
                            elements.Add((body, ExtractionContext.WithBinding(instance.Config, lambda.Parameter.Identifier.ValueText, i)));
                        break;
                    }
                default:
                    _ctx.Report(DiagnosticDescriptors.NotConstant, initializer, initializer.ToString(), "a module list must be [new(...), ...], new T[] { ... } or Repeat(n, i => new(...))");
                    return null;
            }

            var modules = new List<ModuleInstance>();
            for (int i = 0; i < elements.Count; i++)
            {
                var sub = BuildSubmodule(instance, elements[i].Creation, elements[i].Env, $"{instance.KeyPrefix}{key}.{i}.", $"{instance.AccessPath}.{memberName}[{i}]");
                if (sub is null) return null;
                modules.Add(sub);
            }
            return modules;
        }

        private Dictionary<string, object>? EvaluateArguments(IEnumerable<IArgumentOperation> arguments, IReadOnlyDictionary<string, object> env)
        {
            var result = new Dictionary<string, object>();
            bool ok = true;
            foreach (var argument in arguments)
            {
                if (argument.Parameter is null) continue;
                var value = _ctx.ArgumentConstant(argument, env);
                if (value is null) ok = false;
                else result[argument.Parameter.Name] = value;
            }
            return ok ? result : null;
        }
    }
}
