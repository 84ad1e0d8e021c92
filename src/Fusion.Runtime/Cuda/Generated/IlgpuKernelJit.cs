using System.Reflection;
using Fusion.Cuda.Native;
using Fusion.Ilgpu;

namespace Fusion.Cuda.Generated;

/// <summary>
/// Compiles a generated kernel's ILGPU method to PTX (<see cref="IlgpuPtxCompiler"/>, ILGPU as a compiler only), keeps the PTX in
/// the <see cref="KernelCache"/> and loads it into Fusion's own context, where the driver compiles it for the GPU. The cache key
/// covers the method's IL, the KernelMath it calls, and ILGPU's version. A cached entry the driver refuses is rebuilt.
/// </summary>
public sealed class IlgpuKernelJit(CudaDevice device, KernelCache cache)
{
    /// <summary>The module holding the kernel for <paramref name="io"/>, and its entry name.</summary>
    public (CudaModule Module, string Entry) Load(GeneratedKernel kernel, DType io)
    {
        var method = kernel.IlgpuMethod(io) ?? throw new FusionException($"kernel {kernel.Name} has no ILGPU version");
        string name = method.Name + "_ilgpu";
        string key = CacheKey(method);
        byte[] Build() => IlgpuPtxCompiler.Image(IlgpuPtxCompiler.Compile(method, kernel.Name).Ptx);
        var image = cache.GetOrAdd(name, key, Build, out var outcome);
        try
        {
            return (CudaModule.Load(device, image), Entry(image, kernel));
        }
        catch (CudaException e) when (outcome == KernelCacheOutcome.Hit && (CuResult)e.Code is CuResult.InvalidImage or CuResult.InvalidPtx
            or CuResult.UnsupportedPtxVersion or CuResult.InvalidSource or CuResult.NoBinaryForGpu)
        {
            var rebuilt = Build();
            cache.Replace(name, key, $"unloadable ({e.ErrorName})", rebuilt);
            return (CudaModule.Load(device, rebuilt), Entry(rebuilt, kernel));
        }
    }

    private static string Entry(byte[] image, GeneratedKernel kernel) =>
        IlgpuPtxCompiler.EntryOf(System.Text.Encoding.ASCII.GetString(image).TrimEnd('\0'), kernel.Name);

    /// <summary>Everything that changes the PTX: the method's IL, the math helpers' build, ILGPU's version.</summary>
    private static string CacheKey(MethodInfo method)
    {
        var il = method.GetMethodBody()?.GetILAsByteArray() ?? [];
        return KernelCache.Key(Convert.ToBase64String(il), method.DeclaringType?.FullName ?? "", method.Name,
            typeof(KernelMath).Module.ModuleVersionId.ToString(), $"ilgpu {IlgpuPtxCompiler.Version}", "ptx");
    }
}
