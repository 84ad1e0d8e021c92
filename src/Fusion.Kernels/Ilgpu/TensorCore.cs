using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.IR.Intrinsics;

namespace Fusion.Ilgpu;

/// <summary>A warp's m16n8 fp32 accumulator fragment of one lane (mma.sync's C and D): rows lane/4 and lane/4 + 8, columns 2·(lane%4) and + 1.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Accumulator4
{
    public float C0, C1, C2, C3;
}

/// <summary>A warp's m16n8 int32 accumulator fragment of one lane (mma.sync's s32 C and D): the layout of <see cref="Accumulator4"/>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IntAccumulator4
{
    public int C0, C1, C2, C3;
}

/// <summary>Four 32-bit fragment registers of one lane (ldmatrix.x4's result, mma.sync's A operand), each a packed pair of halves.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Fragment4
{
    public uint R0, R1, R2, R3;
}

/// <summary>
/// The tensor-core and asynchronous-copy instructions the ILGPU templates (GEMM, window attention) use: <c>mma.sync.m16n8k16</c> (fp16
/// in, fp32 accumulate), <c>mma.sync.m16n8k32</c> (int8 in, int32 accumulate), <c>ldmatrix.x4</c> (plain and .trans) and <c>cp.async</c>. Fusion's PTX compiler replaces each method by its one PTX instruction with
/// every operand in a register (Fusion.Runtime's PtxTensorCore, through ILGPU's intrinsic manager; ILGPU's own CudaAsm keeps out
/// operands in local memory, a store and a load around every mma). The bodies here are what ILGPU's CPU accelerator runs: each
/// computes what the instruction does for its lane from the other lanes' registers (warp shuffles), so a kernel's indexing is
/// tested on a machine without a GPU.
/// </summary>
public static class TensorCore
{
    /// <summary>
    /// D = A·B + C for a 16×16 (row-major) by 16×8 (column-major) fp16 product, fp32 accumulate. Lane l holds A's rows l/4 and
    /// l/4 + 8 at columns 2·(l%4) (+1) in <c>R0</c>/<c>R1</c> and + 8 in <c>R2</c>/<c>R3</c>; B's column l/4 at rows 2·(l%4) (+1) in
    /// <paramref name="b0"/> and + 8 in <paramref name="b1"/>.
    /// </summary>
    [IntrinsicImplementation]
    public static Accumulator4 Mma(Accumulator4 c, Fragment4 a, uint b0, uint b1)
    {
        int lane = Warp.LaneIdx, group = lane / 4, quad = lane % 4;
        // Row `group` of A and columns 2·quad and 2·quad + 1 of B, gathered from the four lanes that hold each.
        float d0 = c.C0, d1 = c.C1, d2 = c.C2, d3 = c.C3;
        for (int q = 0; q < 4; q++)
        {
            int aLane = group * 4 + q, bLane0 = 2 * quad * 4 + q, bLane1 = (2 * quad + 1) * 4 + q;
            uint a0 = Warp.Shuffle(a.R0, aLane), a1 = Warp.Shuffle(a.R1, aLane), a2 = Warp.Shuffle(a.R2, aLane), a3 = Warp.Shuffle(a.R3, aLane);
            uint p0 = Warp.Shuffle(b0, bLane0), p1 = Warp.Shuffle(b1, bLane0), r0 = Warp.Shuffle(b0, bLane1), r1 = Warp.Shuffle(b1, bLane1);
            // k = 2q, 2q + 1 from the first registers, 2q + 8, 2q + 9 from the second.
            d0 += Dot(a0, p0) + Dot(a2, p1);
            d1 += Dot(a0, r0) + Dot(a2, r1);
            d2 += Dot(a1, p0) + Dot(a3, p1);
            d3 += Dot(a1, r0) + Dot(a3, r1);
        }
        return new Accumulator4 { C0 = d0, C1 = d1, C2 = d2, C3 = d3 };
    }

    /// <summary>
    /// D = A·B + C for a 16×32 (row-major) by 32×8 (column-major) int8 product, exact int32 sums (mma.sync m16n8k32 s8·s8 → s32).
    /// The fragments are <see cref="Mma"/>'s in bytes: lane l holds A's rows l/4 and l/4 + 8 at k 4·(l%4) … + 3 in <c>R0</c>/<c>R1</c>
    /// and at k 16 + 4·(l%4) … in <c>R2</c>/<c>R3</c>; B's column l/4 at k 4·(l%4) … in <paramref name="b0"/> and 16 + 4·(l%4) … in
    /// <paramref name="b1"/> (the lowest k in the lowest byte), which is what ldmatrix gives for k-contiguous int8 rows.
    /// </summary>
    [IntrinsicImplementation]
    public static IntAccumulator4 MmaS8(IntAccumulator4 c, Fragment4 a, uint b0, uint b1)
    {
        int lane = Warp.LaneIdx, group = lane / 4, quad = lane % 4;
        int d0 = c.C0, d1 = c.C1, d2 = c.C2, d3 = c.C3;
        for (int q = 0; q < 4; q++)
        {
            int aLane = group * 4 + q, bLane0 = 2 * quad * 4 + q, bLane1 = (2 * quad + 1) * 4 + q;
            uint a0 = Warp.Shuffle(a.R0, aLane), a1 = Warp.Shuffle(a.R1, aLane), a2 = Warp.Shuffle(a.R2, aLane), a3 = Warp.Shuffle(a.R3, aLane);
            uint p0 = Warp.Shuffle(b0, bLane0), p1 = Warp.Shuffle(b1, bLane0), r0 = Warp.Shuffle(b0, bLane1), r1 = Warp.Shuffle(b1, bLane1);
            // k = 4q … 4q + 3 from the first registers, 16 + 4q … from the second.
            d0 += Dot4(a0, p0) + Dot4(a2, p1);
            d1 += Dot4(a0, r0) + Dot4(a2, r1);
            d2 += Dot4(a1, p0) + Dot4(a3, p1);
            d3 += Dot4(a1, r0) + Dot4(a3, r1);
        }
        return new IntAccumulator4 { C0 = d0, C1 = d1, C2 = d2, C3 = d3 };
    }

    /// <summary>
    /// ldmatrix.sync.aligned.m8n8.x4.shared.b16: four 8×8 matrices of halves in shared memory, lane l giving the address of row
    /// l%8 of matrix l/8; lane l receives row l/4, columns 2·(l%4) and + 1 of matrix j in register j.
    /// </summary>
    [IntrinsicImplementation]
    public static unsafe Fragment4 LoadMatrix4(ref ushort row)
    {
        long address = (long)Unsafe.AsPointer(ref row);
        int lane = Warp.LaneIdx;
        uint Register(int matrix)
        {
            var source = (ushort*)Warp.Shuffle(address, matrix * 8 + lane / 4) + 2 * (lane % 4);
            return source[0] | ((uint)source[1] << 16);
        }
        return new Fragment4 { R0 = Register(0), R1 = Register(1), R2 = Register(2), R3 = Register(3) };
    }

    /// <summary>
    /// ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16: as <see cref="LoadMatrix4"/>, each matrix transposed: lane l receives rows
    /// 2·(l%4) and + 1 at column l/4 of matrix j in register j (a row-major [k][n] tile read as mma.sync's "col" B operand).
    /// </summary>
    [IntrinsicImplementation]
    public static unsafe Fragment4 LoadMatrix4Transposed(ref ushort row)
    {
        long address = (long)Unsafe.AsPointer(ref row);
        int lane = Warp.LaneIdx;
        uint Register(int matrix)
        {
            var low = (ushort*)Warp.Shuffle(address, matrix * 8 + 2 * (lane % 4)) + lane / 4;
            var high = (ushort*)Warp.Shuffle(address, matrix * 8 + 2 * (lane % 4) + 1) + lane / 4;
            return low[0] | ((uint)high[0] << 16);
        }
        return new Fragment4 { R0 = Register(0), R1 = Register(1), R2 = Register(2), R3 = Register(3) };
    }

    /// <summary>
    /// cp.async.cg.shared.global: 16 bytes from global <paramref name="source"/> to shared <paramref name="target"/>, or 16 zero
    /// bytes (nothing read) when <paramref name="inside"/> is false. Completes at <see cref="WaitAll"/>/<see cref="WaitAllButOne"/>.
    /// </summary>
    [IntrinsicImplementation]
    public static unsafe void CopyAsync16(ref ushort target, ref ushort source, bool inside)
    {
        var to = (ulong*)Unsafe.AsPointer(ref target);
        var from = (ulong*)Unsafe.AsPointer(ref source);
        to[0] = inside ? from[0] : 0;
        to[1] = inside ? from[1] : 0;
    }

    /// <summary>cp.async.commit_group: the copies issued since the last commit form a group.</summary>
    [IntrinsicImplementation]
    public static void Commit()
    {
    }

    /// <summary>cp.async.wait_group 0: every committed group has landed (this thread's copies; a barrier makes them everyone's).</summary>
    [IntrinsicImplementation]
    public static void WaitAll()
    {
    }

    /// <summary>cp.async.wait_group 1: all but the most recent committed group have landed.</summary>
    [IntrinsicImplementation]
    public static void WaitAllButOne()
    {
    }

    /// <summary>The dot product of two words of four signed bytes each, in int32.</summary>
    private static int Dot4(uint x, uint y) =>
        (sbyte)x * (sbyte)y + (sbyte)(x >> 8) * (sbyte)(y >> 8) + (sbyte)(x >> 16) * (sbyte)(y >> 16) + (sbyte)(x >> 24) * (sbyte)(y >> 24);

    /// <summary>The dot product of two packed pairs of halves, in fp32.</summary>
    private static float Dot(uint x, uint y) => KernelMath.Low(x) * KernelMath.Low(y) + KernelMath.High(x) * KernelMath.High(y);
}
