using System.Reflection;
using Fusion.Ilgpu;

namespace Fusion.Cuda.Generated;

/// <summary>
/// Compiles a generated kernel's ILGPU method to PTX (<see cref="IlgpuPtxCompiler"/>, ILGPU as a compiler only), keeps the PTX in
/// the <see cref="KernelJit"/>'s cache and loads it into Fusion's own context, where the driver compiles it for the GPU; a cached
/// entry the driver refuses is rebuilt (<see cref="KernelJit.LoadCached"/>). The cache key covers the method's IL, the KernelMath
/// it calls, and ILGPU's version.
/// </summary>
public sealed class IlgpuKernelJit(KernelJit jit)
{
    /// <summary>The module holding the kernel for <paramref name="io"/>, and its entry name.</summary>
    public (CudaModule Module, string Entry) Load(GeneratedKernel kernel, DType io)
    {
        var method = kernel.IlgpuMethod(io) ?? throw new FusionException($"kernel {kernel.Name} has no ILGPU version");
        var (module, image, _) = jit.LoadCached(method.Name + "_ilgpu", CacheKey(method),
            () => IlgpuPtxCompiler.Image(IlgpuPtxCompiler.Compile(method, kernel.Name).Ptx));
        return (module, IlgpuPtxCompiler.EntryOf(System.Text.Encoding.ASCII.GetString(image).TrimEnd('\0'), kernel.Name));
    }

    /// <summary>Everything that changes the PTX: the method's IL, the math helpers' build, ILGPU's version.</summary>
    private static string CacheKey(MethodInfo method)
    {
        var il = method.GetMethodBody()?.GetILAsByteArray() ?? [];
        return KernelCache.Key(Convert.ToBase64String(il), method.DeclaringType?.FullName ?? "", method.Name,
            typeof(KernelMath).Module.ModuleVersionId.ToString(), $"ilgpu {IlgpuPtxCompiler.Version}", "ptx");
    }
}
