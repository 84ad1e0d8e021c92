using ILGPU.Backends.PTX;
using ILGPU.IR.Intrinsics;
using ILGPU.Runtime.Cuda;
using Half = ILGPU.Half;

namespace Fusion.Ilgpu;

/// <summary>
/// What <see cref="KernelMath"/>'s methods become in the PTX Fusion compiles: the GPU's own instruction where KernelMath spells a
/// portable equivalent for ILGPU's CPU accelerator, the same approximations the CUDA C's helpers (generated.cuh) use, so both
/// versions of a kernel compute alike and cost alike. Registered as ILGPU intrinsic redirects on every compiler context.
/// </summary>
internal static class PtxKernelMath
{
    /// <summary>One cvt.rn.f16.f32: the GPU rounds to nearest, ties to even, as KernelMath.ToHalf does in software.</summary>
    public static Half ToHalf(float x) => (Half)x;

    /// <summary>Two cvt.rn.f16.f32 packed into one word, x low (ptxas fuses them into one cvt.rn.f16x2.f32).</summary>
    public static uint Pack(float x, float y) => ILGPU.Interop.FloatAsInt((Half)x) | ((uint)ILGPU.Interop.FloatAsInt((Half)y) << 16);

    /// <summary>x rounded to fp16 and back.</summary>
    public static float RoundF16(float x) => (float)(Half)x;

    /// <summary>e^x as the CUDA helpers compute it: ex2.approx.ftz of x·log₂e (about 2 ulp).</summary>
    public static float Exp(float x)
    {
        CudaAsm.Emit("ex2.approx.ftz.f32 %0, %1;", out float r, x * 1.4426950408889634f);
        return r;
    }

    /// <summary>ln x as lg2.approx times ln 2.</summary>
    public static float Log(float x)
    {
        CudaAsm.Emit("lg2.approx.f32 %0, %1;", out float r, x);
        return r * 0.6931471805599453f;
    }

    /// <summary>1/√x as rsqrt.approx (ILGPU would spell 1/MathF.Sqrt as two correctly rounded, multi-instruction operations).</summary>
    public static float Rsqrt(float x)
    {
        CudaAsm.Emit("rsqrt.approx.f32 %0, %1;", out float r, x);
        return r;
    }

    /// <summary>Makes the compiler behind <paramref name="intrinsics"/> use these methods for KernelMath's.</summary>
    public static void Register(IntrinsicImplementationManager intrinsics)
    {
        // ILGPU looks for a redirect only on methods marked [IntrinsicImplementation], which these three are.
        foreach (var name in new[] { nameof(ToHalf), nameof(Pack), nameof(RoundF16), nameof(Exp), nameof(Log), nameof(Rsqrt) })
        {
            intrinsics.RegisterMethod(typeof(KernelMath).GetMethod(name)!,
                new PTXIntrinsic(typeof(PtxKernelMath), name, IntrinsicImplementationMode.Redirect));
        }
    }
}
