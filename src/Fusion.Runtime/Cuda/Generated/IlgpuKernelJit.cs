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
    /// <summary>
    /// The module holding <paramref name="method"/> (a generated ILGPU kernel method of kernel <paramref name="kernelName"/>), and its
    /// entry name; with <paramref name="registerBudget"/>, ptxas's register allowance for it (<see cref="PtxRegisterBudget"/>). The
    /// method of its class it calls (a GEMM's epilogue at one element, "…_at") is part of the cache key.
    /// </summary>
    public (CudaModule Module, string Entry) Load(MethodInfo method, string kernelName, int? registerBudget = null)
    {
        string entry = IlgpuPtxCompiler.EntryName(method);
        var (module, _) = jit.LoadCached(method.Name + "_ilgpu", CacheKey(method, registerBudget), () =>
        {
            var (ptx, compiled) = IlgpuPtxCompiler.Compile(method, kernelName);
            if (compiled != entry)
                throw new FusionException($"ILGPU named the entry of kernel {kernelName} {compiled}, not {entry} as Fusion expects of ILGPU {IlgpuPtxCompiler.Version}");
            if (registerBudget is int registers) ptx = PtxRegisterBudget.Apply(ptx, registers, kernelName);
            return PtxLinker.ToCubin(jit.Device, IlgpuPtxCompiler.Image(ptx), kernelName);
        });
        return (module, entry);
    }

    /// <summary>
    /// What turns an ILGPU kernel method into PTX besides its IL: the builds of the math helpers (Fusion.Kernels) and of the PTX they
    /// become (this assembly's intrinsic code generators), and ILGPU's version. Part of the binary's cache key and of every fast-run
    /// choice that timed an ILGPU kernel.
    /// </summary>
    public static string CompilerKey { get; } = string.Join("|", typeof(KernelMath).Module.ModuleVersionId, typeof(IlgpuKernelJit).Module.ModuleVersionId, $"ilgpu {IlgpuPtxCompiler.Version}");

    /// <summary>
    /// Everything that changes the binary: the IL of the method and of the epilogue method it calls, the builds of the math helpers
    /// (Fusion.Kernels) and of the PTX they become (this assembly's intrinsic code generators), ILGPU's version, the architecture,
    /// the register allowance.
    /// </summary>
    private string CacheKey(MethodInfo method, int? registerBudget)
    {
        static string Il(MethodInfo? m) => Convert.ToBase64String(m?.GetMethodBody()?.GetILAsByteArray() ?? []);
        var epilogue = method.DeclaringType?.GetMethod(method.Name + "_at", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic);
        return KernelCache.Key(Il(method), Il(epilogue), method.DeclaringType?.FullName ?? "", method.Name, CompilerKey, jit.Device.Architecture, "cubin", $"maxnreg {registerBudget?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}");
    }
}
