using System.Runtime.InteropServices;

namespace Fusion.Ilgpu;

// The vectors the generated ILGPU kernels load and store where every element of a chunk is consecutive in memory: ILGPU turns a
// load of one of these (an ArrayView cast to it) into one ld.global.v4/v2 instruction, where one element at a time is a 2- or
// 4-byte load each. Halves travel as packed pairs in 32-bit words (P0 holds elements 0 and 1, the lower address in the low 16
// bits), as the CUDA C's half2 does: a struct of eight ILGPU halves compiles to two 8-byte loads and one conversion a half,
// where four words are one 16-byte load (KernelMath.Low/High/Pack convert them).

/// <summary>Eight halves, 16 bytes, as four packed pairs.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Half8
{
    public uint P0, P1, P2, P3;
}

/// <summary>Four halves, 8 bytes, as two packed pairs.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Half4
{
    public uint P0, P1;
}

/// <summary>Two halves, 4 bytes, as one packed pair.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Half2
{
    public uint P0;
}

/// <summary>Four floats, 16 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Float4
{
    public float E0, E1, E2, E3;
}

/// <summary>Two floats, 8 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Float2
{
    public float E0, E1;
}
