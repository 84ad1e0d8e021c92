using System.Reflection;
using Fusion.Ilgpu;

namespace Fusion.Cuda.Generated;

/// <summary>
/// Compiles a generated kernel's ILGPU method to PTX (<see cref="IlgpuPtxCompiler"/>, ILGPU as a compiler only), has the driver
/// compile that PTX to a CUBIN for this GPU (<see cref="PtxLinker"/>), keeps the CUBIN in the <see cref="KernelJit"/>'s cache and
/// loads it into Fusion's own context; a cached entry the driver refuses is rebuilt (<see cref="KernelJit.LoadCached"/>). The
/// cache key covers the method's IL, the KernelMath it calls, ILGPU's version and the GPU's architecture, so a warm start loads
/// CUBINs only, as the NVRTC kernels' does.
/// </summary>
public sealed class IlgpuKernelJit(KernelJit jit)
{
    /// <summary>The module holding the kernel for <paramref name="io"/>, and its entry name.</summary>
    public (CudaModule Module, string Entry) Load(GeneratedKernel kernel, DType io)
    {
        var method = kernel.IlgpuMethod(io) ?? throw new FusionException($"kernel {kernel.Name} has no ILGPU version");
        string entry = IlgpuPtxCompiler.EntryName(method);
        var (module, _) = jit.LoadCached(method.Name + "_ilgpu", CacheKey(method), () =>
        {
            var (ptx, compiled) = IlgpuPtxCompiler.Compile(method, kernel.Name);
            if (compiled != entry)
                throw new FusionException($"ILGPU named the entry of kernel {kernel.Name} {compiled}, not {entry} as Fusion expects of ILGPU {IlgpuPtxCompiler.Version}");
            return PtxLinker.ToCubin(jit.Device, IlgpuPtxCompiler.Image(ptx), kernel.Name);
        });
        return (module, entry);
    }

    /// <summary>Everything that changes the binary: the method's IL, the math helpers' build, ILGPU's version, the architecture.</summary>
    private string CacheKey(MethodInfo method)
    {
        var il = method.GetMethodBody()?.GetILAsByteArray() ?? [];
        return KernelCache.Key(Convert.ToBase64String(il), method.DeclaringType?.FullName ?? "", method.Name,
            typeof(KernelMath).Module.ModuleVersionId.ToString(), $"ilgpu {IlgpuPtxCompiler.Version}", jit.Device.Architecture, "cubin");
    }
}
