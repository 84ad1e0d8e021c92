using ILGPU.Backends.PTX;
using ILGPU.IR.Intrinsics;
using ILGPU.IR.Values;
using Value = ILGPU.IR.Value;
using PrimitiveRegister = ILGPU.Backends.RegisterAllocator<ILGPU.Backends.PTX.PTXRegisterKind>.PrimitiveRegister;
using Half = ILGPU.Half;

namespace Fusion.Ilgpu;

/// <summary>
/// What <see cref="KernelMath"/>'s methods become in the PTX Fusion compiles: the GPU's own instructions where KernelMath spells a
/// portable equivalent for ILGPU's CPU accelerator, registered on every compiler context. The conversions are redirects to C#
/// that ILGPU compiles to one cvt each; exp, exp2, rsqrt, erf's reciprocal and the fp16 pair are code generators that write the
/// CUDA helpers' instructions on the call's registers (ex2.approx.ftz, rsqrt.approx, rcp.approx.ftz, cvt.rn.f16x2.f32, the FP8 E4M3
/// conversions).
/// CudaAsm would not do for those: ILGPU keeps its out operand in local memory (a store and a load around each use), which made
/// the GELU and LayerNorm kernels slower on the H200; the precise forms ILGPU makes of the C# bodies (sqrt.rn then rcp.rn for
/// rsqrt) cost registers and instructions the CUDA C does not spend (docs/perf.md).
/// </summary>
internal static class PtxKernelMath
{
    /// <summary>One cvt.rn.f16.f32: the GPU rounds to nearest, ties to even, as KernelMath.ToHalf does in software.</summary>
    public static Half ToHalf(float x) => (Half)x;

    /// <summary>
    /// KernelMath.Pack as one cvt.rn.f16x2.f32 (y to the high half, x to the low), the F2FP.PACK_AB the CUDA C's floats_to_half2
    /// becomes. Two cvt.rn.f16.f32 and a shift-or, which ILGPU makes of the C#, stay three instructions in SASS.
    /// </summary>
    public static void Pack(PTXBackend backend, PTXCodeGenerator code, Value value)
    {
        var call = (MethodCall)value;
        var x = code.LoadPrimitive(call[0]);
        var y = code.LoadPrimitive(call[1]);
        var result = (PrimitiveRegister)code.Allocate(call);
        using var command = code.BeginCommand("cvt.rn.f16x2.f32");
        command.AppendArgument(result);
        command.AppendArgument(y);
        command.AppendArgument(x);
    }

    /// <summary>x rounded to fp16 and back.</summary>
    public static float RoundF16(float x) => (float)(Half)x;

    /// <summary>
    /// KernelMath.Exp2 as one ex2.approx.ftz.f32 on the call's registers (a code generator, not a CudaAsm statement, whose out operand
    /// ILGPU would keep in local memory).
    /// </summary>
    public static void Exp2(PTXBackend backend, PTXCodeGenerator code, Value value) => Unary(code, value, "ex2.approx.ftz.f32");

    /// <summary>KernelMath.FastRecip as one rcp.approx.ftz.f32, as the prelude's fast_rcp.</summary>
    public static void FastRecip(PTXBackend backend, PTXCodeGenerator code, Value value) => Unary(code, value, "rcp.approx.ftz.f32");

    /// <summary>KernelMath.Rsqrt as one rsqrt.approx.f32, as generated.cuh's fusion_rsqrt.</summary>
    public static void Rsqrt(PTXBackend backend, PTXCodeGenerator code, Value value) => Unary(code, value, "rsqrt.approx.f32");

    /// <summary>KernelMath.Exp as generated.cuh's fusion_exp: ex2.approx.ftz.f32 of x·log2(e), in a scope of its own for the product.</summary>
    public static void Exp(PTXBackend backend, PTXCodeGenerator code, Value value)
    {
        var call = (MethodCall)value;
        string x = PtxTensorCore.Name(code, code.LoadPrimitive(call[0]));
        string result = PtxTensorCore.Name(code, (PrimitiveRegister)code.Allocate(call));
        // 0f3FB8AA3B is log2(e) rounded to float32, the literal 1.4426950408889634f of fusion_exp.
        code.Builder.Append("\t{\n\t.reg .f32 %fusion_t;\n\tmul.f32 %fusion_t, ").Append(x).Append(", 0f3FB8AA3B;\n");
        code.Builder.Append("\tex2.approx.ftz.f32 ").Append(result).Append(", %fusion_t;\n\t}\n");
    }

    /// <summary>
    /// KernelMath.EncodeF8 as one cvt.rn.satfinite.e4m3x2.f32 with 0 as the high code, as fusion_pack_e4m3x2(x, 0) (sm_89 and newer:
    /// IlgpuPtxCompiler raises the PTX's target where these instructions appear).
    /// </summary>
    public static void EncodeF8(PTXBackend backend, PTXCodeGenerator code, Value value)
    {
        var call = (MethodCall)value;
        string x = PtxTensorCore.Name(code, code.LoadPrimitive(call[0]));
        string result = PtxTensorCore.Name(code, (PrimitiveRegister)code.Allocate(call));
        code.Builder.Append("\t{\n\t.reg .f32 %fusion_z;\n\tmov.f32 %fusion_z, 0f00000000;\n");
        code.Builder.Append("\tcvt.rn.satfinite.e4m3x2.f32 ").Append(result).Append(", %fusion_z, ").Append(x).Append(";\n\t}\n");
    }

    /// <summary>KernelMath.DecodeF8 as cvt.rn.f16x2.e4m3x2 and cvt.f32.f16 of the low half, as fusion_unpack_e4m3x2.</summary>
    public static void DecodeF8(PTXBackend backend, PTXCodeGenerator code, Value value)
    {
        var call = (MethodCall)value;
        string pair = PtxTensorCore.Name(code, code.LoadPrimitive(call[0]));
        string result = PtxTensorCore.Name(code, (PrimitiveRegister)code.Allocate(call));
        code.Builder.Append("\t{\n\t.reg .b32 %fusion_h;\n\t.reg .b16 %fusion_lo, %fusion_hi;\n");
        code.Builder.Append("\tcvt.rn.f16x2.e4m3x2 %fusion_h, ").Append(pair).Append(";\n");
        code.Builder.Append("\tmov.b32 {%fusion_lo, %fusion_hi}, %fusion_h;\n");
        code.Builder.Append("\tcvt.f32.f16 ").Append(result).Append(", %fusion_lo;\n\t}\n");
    }

    /// <summary>One instruction of one float operand on the call's registers.</summary>
    private static void Unary(PTXCodeGenerator code, Value value, string instruction)
    {
        var call = (MethodCall)value;
        var x = code.LoadPrimitive(call[0]);
        var result = (PrimitiveRegister)code.Allocate(call);
        using var command = code.BeginCommand(instruction);
        command.AppendArgument(result);
        command.AppendArgument(x);
    }

    /// <summary>Makes the compiler behind <paramref name="intrinsics"/> use these methods for KernelMath's.</summary>
    public static void Register(IntrinsicImplementationManager intrinsics)
    {
        foreach (var name in new[] { nameof(Exp2), nameof(Exp), nameof(Rsqrt), nameof(FastRecip), nameof(Pack), nameof(EncodeF8), nameof(DecodeF8) })
        {
            intrinsics.RegisterMethod(typeof(KernelMath).GetMethod(name)!,
                new PTXIntrinsic(typeof(PtxKernelMath), name, IntrinsicImplementationMode.GenerateCode));
        }
        // ILGPU looks for a redirect only on methods marked [IntrinsicImplementation], which these two are.
        foreach (var name in new[] { nameof(ToHalf), nameof(RoundF16) })
        {
            intrinsics.RegisterMethod(typeof(KernelMath).GetMethod(name)!,
                new PTXIntrinsic(typeof(PtxKernelMath), name, IntrinsicImplementationMode.Redirect));
        }
    }
}
