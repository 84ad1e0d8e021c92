using System.Collections.Generic;
using Microsoft.CodeAnalysis;

namespace Fusion.Generator.Frontend
{
    /// <summary>
    /// One instantiated module while the front end runs: its class, its configuration values and
    /// its members. Holds symbols, so it never leaves the transform step.
    /// </summary>
    internal sealed class ModuleInstance
    {
        public ModuleInstance(INamedTypeSymbol type, string keyPrefix, string accessPath, ModuleInstance? parent)
        {
            Type = type;
            KeyPrefix = keyPrefix;
            AccessPath = accessPath;
            Parent = parent;
        }

        public INamedTypeSymbol Type { get; }

        /// <summary>State-dict key prefix, "" for the root, "layers.0.blocks.1." below.</summary>
        public string KeyPrefix { get; }

        /// <summary>C# expression reaching this module from the root ("this", "this.layers[0].blocks[1]").</summary>
        public string AccessPath { get; }

        public ModuleInstance? Parent { get; }

        /// <summary>Constructor parameters and evaluable readonly fields by name.</summary>
        public Dictionary<string, object> Config { get; } = new();

        /// <summary>Members holding parameters or sub-modules, by C# member name.</summary>
        public Dictionary<string, MemberBinding> Members { get; } = new();

        /// <summary>The scope path used in reports ("blocks.0.attn"; "" for the root).</summary>
        public string Scope => KeyPrefix.TrimEnd('.');

        public bool Contains(INamedTypeSymbol type)
        {
            for (var m = this; m is not null; m = m.Parent)
            {
                if (SymbolEqualityComparer.Default.Equals(m.Type, type)) return true;
            }
            return false;
        }
    }

    internal abstract class MemberBinding
    {
        protected MemberBinding(string name, Location location)
        {
            Name = name;
            Location = location;
        }

        public string Name { get; }

        public Location Location { get; }
    }

    internal enum LayerKind
    {
        Linear,
        LayerNorm,
        RmsNorm,
        PatchConv,
        Conv2d,
        BatchNorm2d,
        Parameter,
    }

    /// <summary>A built-in layer member and its parameters (weight, bias, or the raw parameter).</summary>
    internal sealed class LayerBinding : MemberBinding
    {
        public LayerBinding(string name, Location location, LayerKind kind, IReadOnlyDictionary<string, object> args, IReadOnlyDictionary<string, Ir.ParamInfo> parameters)
            : base(name, location)
        {
            Kind = kind;
            Args = args;
            Parameters = parameters;
        }

        public LayerKind Kind { get; }

        /// <summary>Constructor arguments by parameter name (inFeatures, eps, patch, …).</summary>
        public IReadOnlyDictionary<string, object> Args { get; }

        /// <summary>"weight"/"bias" (or "" for a raw Parameter) → parameter.</summary>
        public IReadOnlyDictionary<string, Ir.ParamInfo> Parameters { get; }
    }

    /// <summary>
    /// A member whose declaration was already reported (its layer or sub-module could not be built): uses of it in Forward
    /// stop translation silently, since any further diagnostic there would only repeat the cause.
    /// </summary>
    internal sealed class ReportedBinding : MemberBinding
    {
        public ReportedBinding(string name, Location location) : base(name, location)
        {
        }
    }

    internal sealed class SubmoduleBinding : MemberBinding
    {
        public SubmoduleBinding(string name, Location location, ModuleInstance module) : base(name, location) => Module = module;

        public ModuleInstance Module { get; }
    }

    internal sealed class ModuleListBinding : MemberBinding
    {
        public ModuleListBinding(string name, Location location, IReadOnlyList<ModuleInstance> modules) : base(name, location) => Modules = modules;

        public IReadOnlyList<ModuleInstance> Modules { get; }
    }
}
