using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace Fusion.Generator.Diagnostics
{
    /// <summary>
    /// Every diagnostic the generator reports, in one table. IDs are stable: never renumber or
    /// reuse one. docs/diagnostics.md mirrors this table (a test keeps the two in step).
    /// </summary>
    internal static class DiagnosticDescriptors
    {
        private const string Declaration = "Fusion.Declaration";
        private const string Translation = "Fusion.Translation";
        private const string Shapes = "Fusion.Shapes";
        private const string Fusion = "Fusion.Fusion";
        private const string Precision = "Fusion.Precision";
        private const string Eager = "Fusion.Eager";

        public static readonly DiagnosticDescriptor ClassNotPartial = Make(
            "FUS001", "Model class must be partial",
            "The [FusedModel] class '{0}' must be declared partial so the generator can add its compiled forward pass",
            Declaration, DiagnosticSeverity.Error,
            "Add the 'partial' modifier to the class declaration (and to every containing type).");

        public static readonly DiagnosticDescriptor CannotTranslate = Make(
            "FUS002", "Statement or call cannot be translated",
            "Cannot translate '{0}' in {1}: {2}",
            Translation, DiagnosticSeverity.Error,
            "A Forward method may contain local declarations, assignments, return, if on constant conditions, foreach over a sub-module list, calls to Fusion.F operators and calls to sub-modules' Forward methods.");

        public static readonly DiagnosticDescriptor UnusedResult = Make(
            "FUS003", "Operator result is never used",
            "The result of '{0}' is never used",
            Translation, DiagnosticSeverity.Warning,
            "Every operator returns a new tensor and has no side effects: a result nobody reads is wasted work. Use it or remove the call.");

        public static readonly DiagnosticDescriptor ShapeMismatch = Make(
            "FUS004", "Shape mismatch",
            "Shape mismatch in '{0}': {1}",
            Shapes, DiagnosticSeverity.Error,
            "Every dimension except the batch is known when the model is compiled; the operands of this operator do not fit together.");

        public static readonly DiagnosticDescriptor ParameterWithoutMember = Make(
            "FUS005", "Parameter has no matching member",
            "'{0}' is not a member of '{1}' that holds parameters; declare it as a field or property with an initializer so it maps to a state-dict key",
            Declaration, DiagnosticSeverity.Error,
            "Layers (Linear, LayerNorm, PatchConv, Conv2d, BatchNorm2d, Parameter) and sub-modules passed to operators must be fields or properties of the module, initialized with constant arguments, so each parameter has a state-dict key such as 'blocks.0.attn.qkv.weight'.");

        public static readonly DiagnosticDescriptor MissingForward = Make(
            "FUS006", "No Forward method",
            "'{0}' has no method 'Tensor Forward(Tensor ...)' to compile",
            Declaration, DiagnosticSeverity.Error,
            "Declare the forward pass as a method named Forward whose parameters and return type are Fusion.Tensor.");

        public static readonly DiagnosticDescriptor NotConstant = Make(
            "FUS007", "Value is not a compile-time constant",
            "'{0}' must be a compile-time constant ({1})",
            Translation, DiagnosticSeverity.Error,
            "Dimensions, windows, shifts and scales are fixed when the model is compiled. Use literals, consts, constructor parameters of a sub-module instantiated with constants, or arithmetic on those.");

        public static readonly DiagnosticDescriptor MissingInputShape = Make(
            "FUS008", "Input has no declared shape",
            "Input '{0}' of '{1}' needs a [Shape(...)] attribute (use Dim.Batch for the batch dimension)",
            Declaration, DiagnosticSeverity.Error,
            "The root model's Forward parameters declare their shapes, e.g. [Shape(Dim.Batch, 3136, 96)] Tensor x. At most one dimension per input is the dynamic batch.");

        public static readonly DiagnosticDescriptor RootNeedsParameterlessConstructor = Make(
            "FUS009", "Model needs a parameterless constructor",
            "The [FusedModel] class '{0}' must have a parameterless constructor; its dimensions must be fixed",
            Declaration, DiagnosticSeverity.Error,
            "Put a configurable module inside a [FusedModel] root that instantiates it with constant arguments.");

        public static readonly DiagnosticDescriptor MemberNotAccessible = Make(
            "FUS010", "Member is not accessible to generated code",
            "Member '{0}' of '{1}' is private; make it internal or public so the generated code can reach its parameters",
            Declaration, DiagnosticSeverity.Error,
            "The compiled forward pass reads parameters through the module tree from the root model, so sub-module members must be internal or public.");

        public static readonly DiagnosticDescriptor RecursiveModule = Make(
            "FUS011", "Module contains itself",
            "Module '{0}' contains itself through '{1}'",
            Declaration, DiagnosticSeverity.Error,
            "A module tree must be finite.");

        public static readonly DiagnosticDescriptor RootNotModule = Make(
            "FUS012", "Model must derive from Module",
            "The [FusedModel] class '{0}' must derive from Fusion.Module",
            Declaration, DiagnosticSeverity.Error,
            "Models and sub-modules derive from Fusion.Module, which marks them for the generator and provides Repeat(...) for module lists.");

        public static readonly DiagnosticDescriptor ModuleWithoutSource = Make(
            "FUS013", "Sub-module source is not available",
            "Sub-module '{0}' comes from assembly '{1}', so its Forward cannot be read; declare it in this project or include its source file",
            Declaration, DiagnosticSeverity.Error,
            "The generator inlines every sub-module's Forward into one graph, which needs the C# source of each module class in the compilation being built.");

        public static readonly DiagnosticDescriptor KeepEntryUnmatched = Make(
            "FUS014", "Keep-list entry matches nothing",
            "KeepFloat32 entry '{0}' of '{1}' matches nothing: {2}",
            Precision, DiagnosticSeverity.Error,
            "Each KeepFloat32 entry is a module or layer path ('head', 'layers.3') or an operator ('F.Softmax'); it must match at least one operator of the compiled model, so a typo or a renamed layer does not silently run in fp16.");

        public static readonly DiagnosticDescriptor MutableConstant = Make(
            "FUS015", "Constant member can change",
            "'{0}' of '{1}' {2}: the compiled Run would keep its initial value while Forward reads the current one; make it const or readonly (a get-only property), or pass the value as a constructor parameter",
            Translation, DiagnosticSeverity.Error,
            "A field or property used as a constant in Forward (a scale, a shift, a size) is read once, from its initializer, when the model is compiled. A member with a setter or an init accessor, a field that is not readonly, or one a constructor body assigns could hold another value when Forward runs eagerly.");

        public static readonly DiagnosticDescriptor EagerCallsNotScoped = Make(
            "FUS016", "Eager Forward calls are not scoped",
            "{0} eager Forward call(s) on [FusedModel] classes keep their intermediates alive: the project does not list '{1}' in InterceptorsNamespaces",
            Eager, DiagnosticSeverity.Warning,
            "Fusion runs each call model.Forward(...) in an EagerScope through a C# interceptor, which the compiler only accepts in a namespace listed in the InterceptorsNamespaces property (else error CS9137), so the generator leaves the interceptors out. The package's build/Fusion.props adds Fusion.Generated; a project that sets InterceptorsNamespaces without $(InterceptorsNamespaces) drops it. Add <InterceptorsNamespaces>$(InterceptorsNamespaces);Fusion.Generated</InterceptorsNamespaces>, or wrap the calls in EagerScope.Run yourself and suppress FUS016.");

        public static readonly DiagnosticDescriptor Int8KeepEntryUnmatched = Make(
            "FUS017", "Int8 keep-list entry matches no quantized Linear",
            "KeepHalfInInt8 entry '{0}' of '{1}' matches nothing: {2}",
            Precision, DiagnosticSeverity.Error,
            "Each KeepHalfInInt8 entry is a layer path ('head', 'layers.*.blocks.*.mlp.fc2', * for any one segment) or an operator; it must match at least one Linear the Int8 plan would run as an int8 GEMM, so a typo does not silently quantize a layer meant to stay fp16.");

        public static readonly DiagnosticDescriptor InvalidLayer = Make(
            "FUS018", "Layer configuration is invalid",
            "'{0}' cannot be built: {1}",
            Declaration, DiagnosticSeverity.Error,
            "A layer's sizes must be positive, its padding not negative, and a convolution's groups must divide both its input and output channels; the same constructor would throw when the model is created.");

        public static readonly DiagnosticDescriptor InternalError = Make(
            "FUS099", "Generator failed",
            "The Fusion generator failed on '{0}': {1}",
            Declaration, DiagnosticSeverity.Error,
            "This is a bug in Fusion; please report it with the model declaration.");

        public static readonly DiagnosticDescriptor ModelCompiled = Make(
            "FUS100", "Model compiled",
            "Compiled '{0}': {1} operators, {2} parameter tensors ({3} values)",
            Fusion, DiagnosticSeverity.Info,
            "Open the generated file (Dependencies > Analyzers > Fusion.Generator in the IDE, or obj/generated with EmitCompilerGeneratedFiles) for the graph and the plan.");

        public static readonly DiagnosticDescriptor Fused = Make(
            "FUS101", "Operators fused",
            "Fused {0} operators into kernel '{1}' ({2}): {3}",
            Fusion, DiagnosticSeverity.Info,
            "The generated file's fusion report lists every kernel with the operators it replaced; its CUDA source is in the FusionKernels class.");

        public static readonly DiagnosticDescriptor NotFused = Make(
            "FUS102", "Candidate not fused",
            "Not fused ({0}) at '{1}': {2}",
            Fusion, DiagnosticSeverity.Info,
            "A fusion pattern started here but a guard rejected it; the unfused operators run instead. Typical causes: an intermediate value read elsewhere, or shapes the kernel does not support.");

        /// <summary>All descriptors, in ID order.</summary>
        public static ImmutableArray<DiagnosticDescriptor> All { get; } = typeof(DiagnosticDescriptors)
            .GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
            .Where(f => f.FieldType == typeof(DiagnosticDescriptor))
            .Select(f => (DiagnosticDescriptor)f.GetValue(null)!)
            .OrderBy(d => d.Id, System.StringComparer.Ordinal)
            .ToImmutableArray();

        private static readonly Dictionary<string, DiagnosticDescriptor> s_byId = All.ToDictionary(d => d.Id);

        public static DiagnosticDescriptor ById(string id) => s_byId[id];

        private static DiagnosticDescriptor Make(string id, string title, string message, string category, DiagnosticSeverity severity, string help) =>
            new(id, title, message, category, severity, isEnabledByDefault: true, description: help);
    }
}
