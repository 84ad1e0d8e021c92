using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.IR;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Fusion.Ilgpu;

/// <summary>
/// ILGPU used as a compiler only: turns a generated ILGPU kernel method into PTX with ILGPU's PTX backend, with no accelerator and
/// no CUDA context of its own (ILGPU cannot share the primary context Fusion's runtime works in, so Fusion loads and launches the
/// PTX itself). Works on a machine without a GPU. Each compile takes an ILGPU context and backend of its own from a pool (one
/// context is not meant for concurrent compiles), so a model's kernels compile in parallel; the pool grows to one per core, at
/// most <see cref="MaxContexts"/>, and lives for the process.
/// </summary>
public static partial class IlgpuPtxCompiler
{
    /// <summary>Compilers kept at most (each ILGPU context holds its own IR and caches).</summary>
    public static readonly int MaxContexts = Math.Clamp(Environment.ProcessorCount, 1, 8);

    private static readonly System.Collections.Concurrent.ConcurrentBag<(Context Context, PTXBackend Backend)> s_idle = [];
    private static readonly SemaphoreSlim s_slots = new(MaxContexts, MaxContexts);

    /// <summary>ILGPU's version, part of every cache key of its PTX.</summary>
    public static string Version { get; } = typeof(Context).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>
    /// The PTX of <paramref name="method"/> (an explicitly grouped kernel: a static method of ArrayView and scalar parameters) and
    /// its entry name. <paramref name="kernelName"/> names the kernel in errors.
    /// </summary>
    public static (string Ptx, string Entry) Compile(MethodInfo method, string kernelName)
    {
        ArgumentNullException.ThrowIfNull(method);
        string ptx;
        s_slots.Wait();
        (Context Context, PTXBackend Backend)? compiler = null;
        try
        {
            compiler = s_idle.TryTake(out var idle) ? idle : Create();
            var entry = EntryPointDescription.FromExplicitlyGroupedKernel(method);
            ptx = ((PTXCompiledKernel)compiler.Value.Backend.Compile(entry, new KernelSpecialization())).PTXAssembly;
            // ILGPU aligns a shared allocation to its element (2 bytes for halves); cp.async and ldmatrix need 16.
            ptx = SharedAlignment().Replace(ptx, ".shared .align 16 ");
            // ptxas compiles a division by an immediate as a general one; NVRTC's front end would have made it a multiply.
            ptx = PtxConstantDivision.Rewrite(ptx);
            ptx = RaiseTargetForFp8(ptx);
        }
        catch (Exception e)
        {
            throw new FusionException($"ILGPU could not compile kernel {kernelName} ({method.DeclaringType?.Name}.{method.Name}) to PTX: {Innermost(e).Message}", e);
        }
        finally
        {
            if (compiler is { } used) s_idle.Add(used);
            s_slots.Release();
        }
        return (ptx, EntryOf(ptx, kernelName));
    }

    /// <summary>The entry ILGPU gives the kernel of <paramref name="method"/>: "Kernel_" and the method's name.</summary>
    public static string EntryName(MethodInfo method) => "Kernel_" + method.Name;

    /// <summary>
    /// The PTX with its target raised from sm_80 to sm_89 and its ISA from 8.0 to 8.1 where it converts FP8 E4M3 codes
    /// (KernelMath.EncodeF8/DecodeF8): ptxas takes those conversions on sm_89 from PTX ISA 8.1 on (on the H200, 2026-12-05: "requires
    /// .target sm_90 or higher" at 8.0, "on sm_89 requires PTX ISA .version 8.1"). Such a kernel belongs to the Fp8 plan, which refuses older GPUs.
    /// </summary>
    public static string RaiseTargetForFp8(string ptx) =>
        ptx.Contains(".e4m3x2", StringComparison.Ordinal)
            ? Sm80Target().Replace(ptx, ".target sm_89", 1).Replace(".version 8.0", ".version 8.1", StringComparison.Ordinal)
            : ptx;

    /// <summary>The name of the one kernel entry in <paramref name="ptx"/>.</summary>
    public static string EntryOf(string ptx, string kernelName)
    {
        var match = EntryPattern().Match(ptx);
        if (!match.Success) throw new FusionException($"ILGPU's PTX for kernel {kernelName} has no .entry");
        return match.Groups[1].Value;
    }

    /// <summary>The PTX as the driver loads it: NUL-terminated bytes.</summary>
    public static byte[] Image(string ptx) => Encoding.ASCII.GetBytes(ptx + "\0");

    private static (Context Context, PTXBackend Backend) Create()
    {
        // sm_80 code with PTX ISA 8.0: ILGPU 1.5.3 caps its .target there; the driver compiles it for the GPU it loads on (sm_90 too).
        var context = Context.Create(builder =>
        {
            builder.EnableAlgorithms().Optimize(OptimizationLevel.O2);
            PtxKernelMath.Register(builder.GetIntrinsicManager());
            PtxTensorCore.Register(builder.GetIntrinsicManager());
        });
        var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_80), CudaArchitecture.SM_80, CudaInstructionSet.ISA_80, null);
        return (context, backend);
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }

    [GeneratedRegex(@"\.entry\s+([A-Za-z_$][\w$]*)\s*\(")]
    private static partial Regex EntryPattern();

    [GeneratedRegex(@"\.target\s+sm_80\b")]
    private static partial Regex Sm80Target();

    [GeneratedRegex(@"\.shared\s+\.align\s+(1|2|4|8)\s+")]
    private static partial Regex SharedAlignment();
}
