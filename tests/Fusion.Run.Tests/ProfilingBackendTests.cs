using Fusion.Run;

namespace Fusion.Run.Tests;

/// <summary>
/// The profiler wraps the backend a pass runs on, so it must hand every member on: an interface member with a default body that
/// it did not declare would run the default on the wrapper instead of the backend's own (AdoptConstants' default does nothing, so
/// the profiled passes packed every convolution's weight on every call and the table overstated the CPU's GEMMs twofold).
/// </summary>
public class ProfilingBackendTests
{
    [Fact]
    public void EveryBackendMemberIsHandedOnByTheProfilersOwnMethod()
    {
        var map = typeof(ProfilingBackend).GetInterfaceMap(typeof(IBackend));
        var missing = map.InterfaceMethods.Where((m, i) => map.TargetMethods[i].DeclaringType != typeof(ProfilingBackend))
            .Select(m => $"{m.Name}({string.Join(", ", m.GetParameters().Select(p => p.ParameterType.Name))})").ToList();
        Assert.True(missing.Count == 0, "ProfilingBackend leaves these to IBackend's default bodies: " + string.Join("; ", missing));
    }
}
