using System.Reflection;
using Fusion.Compiler;
using Fusion.Testing;

namespace Fusion.Runtime.Tests.Operators;

/// <summary>The operator vocabulary and the descriptor registry stay in step, and the references' special functions are right.</summary>
public class OperatorRegistryTests
{
    [Fact]
    public void EveryFOperatorHasADescriptor()
    {
        // The generator translates an F call through the descriptor of the same name; an F method without one cannot compile.
        var helpers = new[] { nameof(F.ResolveShape) };
        var operators = typeof(F).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Where(m => !m.IsSpecialName && !helpers.Contains(m.Name)).Select(m => m.Name).Distinct().ToList();
        var missing = operators.Where(name => !Ops.TryGet(name, out _)).ToList();
        Assert.True(missing.Count == 0, $"F methods without a descriptor in Ops: {string.Join(", ", missing)}");
        Assert.True(operators.Count >= 40, $"only {operators.Count} F operators found");
    }

    [Fact]
    public void DescriptorErfAgreesWithTheIndependentReferenceErf()
    {
        // Ops' erf (Maclaurin series + continued fraction) and Ref.Erf (an all-positive series) share no code.
        double worst = 0, at = 0;
        for (double x = -7; x <= 7; x += 1.0 / 512)
        {
            double error = Math.Abs(SpecialFunctions.Erf(x) - Ref.Erf(x));
            if (error > worst) (worst, at) = (error, x);
        }
        Assert.True(worst < 1e-13, $"SpecialFunctions.Erf differs from Ref.Erf by {worst:G3} at {at}");
    }
}
