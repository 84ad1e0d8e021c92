using Microsoft.CodeAnalysis;

namespace Fusion.Generator.Model
{
    /// <summary>A diagnostic to report later, kept as plain values so pipeline models stay equatable.</summary>
    internal sealed record DiagnosticInfo(string Id, LocationInfo? Location, EquatableArray<string> Arguments)
    {
        public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, LocationInfo? location, params string[] arguments) =>
            new(descriptor.Id, location, EquatableArray.Of(arguments));

        public Diagnostic ToDiagnostic()
        {
            var descriptor = Diagnostics.DiagnosticDescriptors.ById(Id);
            // Arguments are object[] in Roslyn's API.
            var args = new object[Arguments.Count];
            for (int i = 0; i < args.Length; i++) args[i] = Arguments[i];
            return Diagnostic.Create(descriptor, Location?.ToLocation() ?? Microsoft.CodeAnalysis.Location.None, args);
        }
    }
}
