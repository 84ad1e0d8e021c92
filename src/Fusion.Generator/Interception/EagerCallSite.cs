using Fusion.Generator.Model;

namespace Fusion.Generator.Interception
{
    /// <summary>
    /// One call <c>model.Forward(...)</c> from outside a [FusedModel] class, as plain values: where to intercept it
    /// (<see cref="Version"/> and <see cref="Data"/>, the InterceptsLocation arguments) and the method's signature the
    /// interceptor must repeat exactly.
    /// </summary>
    internal sealed record EagerCallSite(
        string ModelType,
        string ReturnType,
        EquatableArray<ForwardParameter> Parameters,
        int Version,
        string Data,
        string DisplayLocation,
        LocationInfo? Location);

    /// <summary>A parameter of a model's Forward: its fully qualified type, name and modifier ("", "ref", "in", "out", "ref readonly", "params").</summary>
    internal sealed record ForwardParameter(string Type, string Name, string Modifier);
}
