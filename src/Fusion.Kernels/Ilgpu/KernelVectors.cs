using System.Runtime.InteropServices;
using Half = ILGPU.Half;

namespace Fusion.Ilgpu;

// The vectors the generated ILGPU kernels load and store where every element of a chunk is consecutive in memory: ILGPU turns a
// load of one of these (an ArrayView cast to it) into ld.global.v4 instructions, where one element at a time is a 2- or 4-byte
// load each. E0 is the lowest address.

/// <summary>Eight halves, 16 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Half8
{
    public Half E0, E1, E2, E3, E4, E5, E6, E7;
}

/// <summary>Four halves, 8 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Half4
{
    public Half E0, E1, E2, E3;
}

/// <summary>Two halves, 4 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Half2
{
    public Half E0, E1;
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
