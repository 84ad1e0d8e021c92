using Fusion;
using Fusion.Testing;

namespace Fusion.ConvNets.Tests;

/// <summary>A model's parameters by state-dict key, as float64, for the references (which find the structure by key too).</summary>
internal sealed class ReferenceWeights(IFusedModel model)
{
    private readonly Dictionary<string, Parameter> _byKey = model.NamedParameters().ToDictionary(p => p.Key, p => p.Parameter);

    public RefTensor this[string key] =>
        _byKey.TryGetValue(key, out var p) ? RefTensor.FromCpu(p.Value) : throw new KeyNotFoundException($"no parameter '{key}'");

    public bool Has(string key) => _byKey.ContainsKey(key);
}
