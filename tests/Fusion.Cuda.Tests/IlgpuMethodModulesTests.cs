using Fusion.Cuda.Generated;

namespace Fusion.Cuda.Tests;

/// <summary>
/// auto's load of an ILGPU version where there is none to load (<see cref="IlgpuMethodModules.TryLoad"/>): a generated class without
/// the method is a false and one warning per kernel variant, naming the kernel and what runs instead, and nothing reaches the
/// JIT (none is given: the lookup fails first). The GPU test <c>KernelLanguageAutoGpuTests</c> runs the same path end to end.
/// </summary>
public sealed class IlgpuMethodModulesTests
{
    [Fact]
    public void AMissingMethodIsOneWarningPerVariantAndFalse()
    {
        var warnings = new List<string>();
        using var modules = new IlgpuMethodModules(null!, warnings.Add);
        static System.Reflection.MethodInfo Missing() => throw new FusionException("generated kernel k7: C has no ILGPU method k7_io_f16; rebuild the project that generated it");
        Assert.False(modules.TryLoad("k7|f16", Missing, "k7", "the kernel's NVRTC version"));
        Assert.False(modules.TryLoad("k7|f16", Missing, "k7", "the kernel's NVRTC version"));
        Assert.Equal("generated kernel k7: C has no ILGPU method k7_io_f16; rebuild the project that generated it; FUSION_KERNELS=auto runs the kernel's NVRTC version",
            Assert.Single(warnings));
        Assert.False(modules.TryLoad("k7|f32", Missing, "k7", "the kernel's NVRTC version"));
        Assert.Equal(2, warnings.Count);
        Assert.Equal(0, modules.Count);
    }
}
