using System.Runtime.InteropServices;

namespace Fusion.Cuda.Native;

/// <summary>Raw bindings to the CUDA driver API (libcuda.so.1). Versioned (_v2) entry points are named explicitly, as the C headers' macros would.</summary>
internal static unsafe partial class CuDriverApi
{
    private const string Lib = CudaLibraryResolver.Driver;

    [LibraryImport(Lib)] internal static partial CuResult cuInit(uint flags);
    [LibraryImport(Lib)] internal static partial CuResult cuDriverGetVersion(out int version);
    [LibraryImport(Lib)] internal static partial CuResult cuGetErrorName(CuResult error, out IntPtr name);
    [LibraryImport(Lib)] internal static partial CuResult cuGetErrorString(CuResult error, out IntPtr text);

    [LibraryImport(Lib)] internal static partial CuResult cuDeviceGetCount(out int count);
    [LibraryImport(Lib)] internal static partial CuResult cuDeviceGet(out int device, int ordinal);
    [LibraryImport(Lib)] internal static partial CuResult cuDeviceGetName(byte* name, int length, int device);
    [LibraryImport(Lib)] internal static partial CuResult cuDeviceGetAttribute(out int value, CuDeviceAttribute attribute, int device);
    [LibraryImport(Lib)] internal static partial CuResult cuDeviceTotalMem_v2(out nuint bytes, int device);

    [LibraryImport(Lib)] internal static partial CuResult cuDevicePrimaryCtxRetain(out IntPtr context, int device);
    [LibraryImport(Lib)] internal static partial CuResult cuDevicePrimaryCtxRelease_v2(int device);
    [LibraryImport(Lib)] internal static partial CuResult cuCtxSetCurrent(IntPtr context);
    [LibraryImport(Lib)] internal static partial CuResult cuCtxSynchronize();

    [LibraryImport(Lib)] internal static partial CuResult cuMemGetInfo_v2(out nuint free, out nuint total);
    [LibraryImport(Lib)] internal static partial CuResult cuMemAlloc_v2(out ulong devicePtr, nuint bytes);
    [LibraryImport(Lib)] internal static partial CuResult cuMemFree_v2(ulong devicePtr);
    [LibraryImport(Lib)] internal static partial CuResult cuMemcpyHtoDAsync_v2(ulong dst, void* src, nuint bytes, IntPtr stream);
    [LibraryImport(Lib)] internal static partial CuResult cuMemcpyDtoHAsync_v2(void* dst, ulong src, nuint bytes, IntPtr stream);
    [LibraryImport(Lib)] internal static partial CuResult cuMemcpyDtoDAsync_v2(ulong dst, ulong src, nuint bytes, IntPtr stream);
    [LibraryImport(Lib)] internal static partial CuResult cuMemsetD8Async(ulong dst, byte value, nuint count, IntPtr stream);
    [LibraryImport(Lib)] internal static partial CuResult cuMemsetD32Async(ulong dst, uint value, nuint count, IntPtr stream);

    [LibraryImport(Lib)] internal static partial CuResult cuStreamCreate(out IntPtr stream, uint flags);
    [LibraryImport(Lib)] internal static partial CuResult cuStreamDestroy_v2(IntPtr stream);
    [LibraryImport(Lib)] internal static partial CuResult cuStreamSynchronize(IntPtr stream);
    [LibraryImport(Lib)] internal static partial CuResult cuStreamWaitEvent(IntPtr stream, IntPtr ev, uint flags);
    [LibraryImport(Lib)] internal static partial CuResult cuStreamIsCapturing(IntPtr stream, out int captureStatus);

    [LibraryImport(Lib)] internal static partial CuResult cuEventCreate(out IntPtr ev, uint flags);
    [LibraryImport(Lib)] internal static partial CuResult cuEventDestroy_v2(IntPtr ev);
    [LibraryImport(Lib)] internal static partial CuResult cuEventRecord(IntPtr ev, IntPtr stream);
    [LibraryImport(Lib)] internal static partial CuResult cuEventRecordWithFlags(IntPtr ev, IntPtr stream, uint flags);
    [LibraryImport(Lib)] internal static partial CuResult cuEventSynchronize(IntPtr ev);
    [LibraryImport(Lib)] internal static partial CuResult cuEventElapsedTime(out float milliseconds, IntPtr start, IntPtr end);

    [LibraryImport(Lib)] internal static partial CuResult cuModuleLoadData(out IntPtr module, void* image);
    [LibraryImport(Lib)] internal static partial CuResult cuModuleUnload(IntPtr module);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial CuResult cuModuleGetFunction(out IntPtr function, IntPtr module, string name);
    [LibraryImport(Lib)] internal static partial CuResult cuFuncSetAttribute(IntPtr function, CuFunctionAttribute attribute, int value);
    [LibraryImport(Lib)]
    internal static partial CuResult cuOccupancyMaxActiveBlocksPerMultiprocessor(out int blocks, IntPtr function, int blockSize, nuint dynamicSharedBytes);
    /// <summary>How many clusters of the config's shape (its cluster-dimension attribute, block and shared memory) can run at once.</summary>
    [LibraryImport(Lib)]
    internal static partial CuResult cuOccupancyMaxActiveClusters(out int clusters, IntPtr function, CuLaunchConfig* config);
    [LibraryImport(Lib)]
    internal static partial CuResult cuLaunchKernel(IntPtr function, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ,
        uint sharedMemBytes, IntPtr stream, void** kernelParams, void** extra);
    /// <summary>A launch with attributes (CUDA 12.0 and newer drivers): Fusion's programmatic dependent launches.</summary>
    [LibraryImport(Lib)]
    internal static partial CuResult cuLaunchKernelEx(CuLaunchConfig* config, IntPtr function, void** kernelParams, void** extra);

    [LibraryImport(Lib)]
    internal static partial CuResult cuTensorMapEncodeTiled(void* tensorMap, CuTensorMapDataType dataType, uint rank, void* globalAddress, ulong* globalDim,
        ulong* globalStrides, uint* boxDim, uint* elementStrides, int interleave, CuTensorMapSwizzle swizzle, CuTensorMapL2Promotion l2Promotion, int oobFill);

    [LibraryImport(Lib)] internal static partial CuResult cuStreamBeginCapture_v2(IntPtr stream, CuStreamCaptureMode mode);
    [LibraryImport(Lib)] internal static partial CuResult cuStreamEndCapture(IntPtr stream, out IntPtr graph);
    [LibraryImport(Lib)] internal static partial CuResult cuGraphInstantiateWithFlags(out IntPtr graphExec, IntPtr graph, ulong flags);
    [LibraryImport(Lib)] internal static partial CuResult cuGraphLaunch(IntPtr graphExec, IntPtr stream);
    [LibraryImport(Lib)] internal static partial CuResult cuGraphExecDestroy(IntPtr graphExec);
    [LibraryImport(Lib)] internal static partial CuResult cuGraphDestroy(IntPtr graph);
    [LibraryImport(Lib)] internal static partial CuResult cuGraphGetNodes(IntPtr graph, IntPtr* nodes, ref nuint numNodes);
    [LibraryImport(Lib)] internal static partial CuResult cuGraphNodeGetType(IntPtr node, out CuGraphNodeType type);

    [LibraryImport(Lib)] internal static partial CuResult cuLinkCreate_v2(uint optionCount, CuJitOption* options, void** optionValues, out IntPtr state);
    [LibraryImport(Lib)]
    internal static partial CuResult cuLinkAddData_v2(IntPtr state, CuJitInputType type, void* data, nuint size, byte* name, uint optionCount, CuJitOption* options, void** optionValues);
    [LibraryImport(Lib)] internal static partial CuResult cuLinkComplete(IntPtr state, out void* cubin, out nuint size);
    [LibraryImport(Lib)] internal static partial CuResult cuLinkDestroy(IntPtr state);
}

/// <summary>The CUjit_option values Fusion passes to the driver's linker.</summary>
internal enum CuJitOption
{
    ErrorLogBuffer = 5,
    ErrorLogBufferSizeBytes = 6,
}

/// <summary>The CUjitInputType values Fusion links.</summary>
internal enum CuJitInputType
{
    Ptx = 1,
}

internal enum CuDeviceAttribute
{
    MultiprocessorCount = 16,
    ComputeCapabilityMajor = 75,
    ComputeCapabilityMinor = 76,
    /// <summary>CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN: the most shared memory one block may opt in to.</summary>
    MaxSharedMemoryPerBlockOptIn = 97,
}

/// <summary>CUgraphNodeType: what a node of a graph does (the kinds a stream capture of Fusion's work produces, and the rest as other).</summary>
internal enum CuGraphNodeType
{
    Kernel = 0,
    Memcpy = 1,
    Memset = 2,
    Host = 3,
    Graph = 4,
    Empty = 5,
    WaitEvent = 6,
    EventRecord = 7,
}

internal enum CuStreamCaptureMode
{
    Global = 0,
    ThreadLocal = 1,
    Relaxed = 2,
}

/// <summary>The CUfunction_attribute values Fusion sets.</summary>
internal enum CuFunctionAttribute
{
    /// <summary>CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES: dynamic shared memory a launch may ask for beyond the default 48 KB.</summary>
    MaxDynamicSharedSizeBytes = 8,
    /// <summary>CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED: clusters of more than 8 blocks (Hopper takes up to 16).</summary>
    NonPortableClusterSizeAllowed = 14,
}

/// <summary>CUlaunchConfig: a launch's shape, stream and attributes (cuLaunchKernelEx).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CuLaunchConfig
{
    public uint GridX, GridY, GridZ;
    public uint BlockX, BlockY, BlockZ;
    public uint SharedMemoryBytes;
    public IntPtr Stream;
    public CuLaunchAttribute* Attributes;
    public uint AttributeCount;
}

/// <summary>CUlaunchAttribute: an id, padding to 8 bytes, then the 64-byte CUlaunchAttributeValue union (72 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 72)]
internal struct CuLaunchAttribute
{
    [FieldOffset(0)] public CuLaunchAttributeId Id;
    /// <summary>The union's first int: programmaticStreamSerializationAllowed for <see cref="CuLaunchAttributeId.ProgrammaticStreamSerialization"/>,
    /// clusterDim.x for <see cref="CuLaunchAttributeId.ClusterDimension"/>.</summary>
    [FieldOffset(8)] public int Value;
    /// <summary>clusterDim.y and .z for <see cref="CuLaunchAttributeId.ClusterDimension"/>.</summary>
    [FieldOffset(12)] public uint ValueY;
    [FieldOffset(16)] public uint ValueZ;
}

/// <summary>The CUlaunchAttributeID values Fusion sets.</summary>
internal enum CuLaunchAttributeId
{
    /// <summary>CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION: the kernel may start before the previous one in its stream ends.</summary>
    ProgrammaticStreamSerialization = 6,
    /// <summary>CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION: the blocks run as thread-block clusters of this shape.</summary>
    ClusterDimension = 4,
}

/// <summary>The CUtensorMapDataType values Fusion encodes (the copy engine moves bytes; the type fixes the element size).</summary>
internal enum CuTensorMapDataType
{
    UInt8 = 0,
    Float16 = 6,
}

/// <summary>CUtensorMapSwizzle: how the copy engine permutes 16-byte chunks within each row of a box in shared memory.</summary>
internal enum CuTensorMapSwizzle
{
    None = 0,
    Bytes128 = 3,
}

/// <summary>CUtensorMapL2promotion: the L2 sector promotion of the copy engine's reads.</summary>
internal enum CuTensorMapL2Promotion
{
    None = 0,
    Bytes256 = 3,
}
