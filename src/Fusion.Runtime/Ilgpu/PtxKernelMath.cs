using ILGPU.Backends.PTX;
using ILGPU.IR.Intrinsics;
using Half = ILGPU.Half;

namespace Fusion.Ilgpu;

/// <summary>
/// What <see cref="KernelMath"/>'s methods become in the PTX Fusion compiles: the GPU's own instruction where KernelMath spells a
/// portable equivalent for ILGPU's CPU accelerator. Registered as ILGPU intrinsic redirects on every compiler context. Only what
/// plain C# reaches: ILGPU keeps a CudaAsm statement's out operand in local memory (a .local depot, a store and a load around each
/// use), and redirecting exp and rsqrt to ex2.approx.ftz and rsqrt.approx that way made the GELU and LayerNorm kernels slower on
/// the H200 (docs/perf.md).
/// </summary>
internal static class PtxKernelMath
{
    /// <summary>One cvt.rn.f16.f32: the GPU rounds to nearest, ties to even, as KernelMath.ToHalf does in software.</summary>
    public static Half ToHalf(float x) => (Half)x;

    /// <summary>Two cvt.rn.f16.f32 packed into one word, x low (ptxas fuses them into one cvt.rn.f16x2.f32).</summary>
    public static uint Pack(float x, float y) => ILGPU.Interop.FloatAsInt((Half)x) | ((uint)ILGPU.Interop.FloatAsInt((Half)y) << 16);

    /// <summary>x rounded to fp16 and back.</summary>
    public static float RoundF16(float x) => (float)(Half)x;

    /// <summary>Makes the compiler behind <paramref name="intrinsics"/> use these methods for KernelMath's.</summary>
    public static void Register(IntrinsicImplementationManager intrinsics)
    {
        // ILGPU looks for a redirect only on methods marked [IntrinsicImplementation], which these three are.
        foreach (var name in new[] { nameof(ToHalf), nameof(Pack), nameof(RoundF16) })
        {
            intrinsics.RegisterMethod(typeof(KernelMath).GetMethod(name)!,
                new PTXIntrinsic(typeof(PtxKernelMath), name, IntrinsicImplementationMode.Redirect));
        }
    }
}
