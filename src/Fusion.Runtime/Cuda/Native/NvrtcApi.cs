using System.Runtime.InteropServices;

namespace Fusion.Cuda.Native;

/// <summary>Raw bindings to NVRTC (libnvrtc.so.13 or .12).</summary>
internal static unsafe partial class NvrtcApi
{
    private const string Lib = CudaLibraryResolver.Nvrtc;

    internal const int Success = 0;
    internal const int CompilationError = 6;

    [LibraryImport(Lib)] internal static partial int nvrtcVersion(out int major, out int minor);
    [LibraryImport(Lib)] internal static partial IntPtr nvrtcGetErrorString(int result);
    [LibraryImport(Lib)]
    internal static partial int nvrtcCreateProgram(out IntPtr program, byte* source, byte* name, int numHeaders, byte** headers, byte** includeNames);
    [LibraryImport(Lib)] internal static partial int nvrtcDestroyProgram(ref IntPtr program);
    [LibraryImport(Lib)] internal static partial int nvrtcCompileProgram(IntPtr program, int numOptions, byte** options);
    [LibraryImport(Lib)] internal static partial int nvrtcGetProgramLogSize(IntPtr program, out nuint size);
    [LibraryImport(Lib)] internal static partial int nvrtcGetProgramLog(IntPtr program, byte* log);
    [LibraryImport(Lib)] internal static partial int nvrtcGetCUBINSize(IntPtr program, out nuint size);
    [LibraryImport(Lib)] internal static partial int nvrtcGetCUBIN(IntPtr program, byte* cubin);
    [LibraryImport(Lib)] internal static partial int nvrtcGetPTXSize(IntPtr program, out nuint size);
    [LibraryImport(Lib)] internal static partial int nvrtcGetPTX(IntPtr program, byte* ptx);
}
