using System.Runtime.InteropServices;

namespace Fusion.Cuda.Native;

/// <summary>Raw bindings to cuBLASLt (libcublasLt.so.13 or .12): matmul descriptors, layouts, preferences, heuristics.</summary>
internal static unsafe partial class CublasLtApi
{
    private const string Lib = CudaLibraryResolver.CublasLt;

    internal const int Success = 0;

    [LibraryImport(Lib)] internal static partial nuint cublasLtGetVersion();
    [LibraryImport(Lib)] internal static partial int cublasLtCreate(out IntPtr handle);
    [LibraryImport(Lib)] internal static partial int cublasLtDestroy(IntPtr handle);

    [LibraryImport(Lib)] internal static partial int cublasLtMatmulDescCreate(out IntPtr desc, CublasComputeType computeType, CudaDataType scaleType);
    [LibraryImport(Lib)] internal static partial int cublasLtMatmulDescDestroy(IntPtr desc);
    [LibraryImport(Lib)] internal static partial int cublasLtMatmulDescSetAttribute(IntPtr desc, CublasLtMatmulDescAttribute attribute, void* value, nuint size);

    [LibraryImport(Lib)] internal static partial int cublasLtMatrixLayoutCreate(out IntPtr layout, CudaDataType type, ulong rows, ulong cols, long ld);
    [LibraryImport(Lib)] internal static partial int cublasLtMatrixLayoutDestroy(IntPtr layout);
    [LibraryImport(Lib)] internal static partial int cublasLtMatrixLayoutSetAttribute(IntPtr layout, CublasLtMatrixLayoutAttribute attribute, void* value, nuint size);

    [LibraryImport(Lib)] internal static partial int cublasLtMatmulPreferenceCreate(out IntPtr preference);
    [LibraryImport(Lib)] internal static partial int cublasLtMatmulPreferenceDestroy(IntPtr preference);
    [LibraryImport(Lib)] internal static partial int cublasLtMatmulPreferenceSetAttribute(IntPtr preference, CublasLtPreferenceAttribute attribute, void* value, nuint size);

    [LibraryImport(Lib)]
    internal static partial int cublasLtMatmulAlgoGetHeuristic(IntPtr handle, IntPtr opDesc, IntPtr aDesc, IntPtr bDesc, IntPtr cDesc, IntPtr dDesc,
        IntPtr preference, int requestedAlgoCount, CublasLtHeuristicResult* results, out int returnedAlgoCount);

    [LibraryImport(Lib)]
    internal static partial int cublasLtMatmul(IntPtr handle, IntPtr opDesc, void* alpha, ulong a, IntPtr aDesc, ulong b, IntPtr bDesc, void* beta,
        ulong c, IntPtr cDesc, ulong d, IntPtr dDesc, CublasLtMatmulAlgo* algo, ulong workspace, nuint workspaceBytes, IntPtr stream);

    /// <summary>Names of cublasStatus_t values, for error messages (cuBLASLt has no name lookup of its own).</summary>
    internal static string StatusName(int status) => status switch
    {
        0 => "CUBLAS_STATUS_SUCCESS",
        1 => "CUBLAS_STATUS_NOT_INITIALIZED",
        3 => "CUBLAS_STATUS_ALLOC_FAILED",
        7 => "CUBLAS_STATUS_INVALID_VALUE",
        8 => "CUBLAS_STATUS_ARCH_MISMATCH",
        11 => "CUBLAS_STATUS_MAPPING_ERROR",
        13 => "CUBLAS_STATUS_EXECUTION_FAILED",
        14 => "CUBLAS_STATUS_INTERNAL_ERROR",
        15 => "CUBLAS_STATUS_NOT_SUPPORTED",
        16 => "CUBLAS_STATUS_LICENSE_ERROR",
        _ => $"CUBLAS_STATUS_{status}",
    };

    internal static string StatusMessage(int status) => status switch
    {
        1 => "the cuBLASLt handle was not initialized",
        3 => "cuBLASLt could not allocate resources",
        7 => "an unsupported value or parameter was passed",
        8 => "the device does not support the requested feature",
        13 => "the GPU program failed to execute",
        14 => "an internal cuBLASLt operation failed",
        15 => "the requested configuration is not supported",
        _ => "cuBLASLt reported an error",
    };
}

internal enum CudaDataType
{
    R32F = 0,
    R16F = 2,
    R8I = 3,
    R32I = 10,
    R8FE4M3 = 28,
}

internal enum CublasComputeType
{
    Compute32F = 68,
    Compute32I = 72,
}

internal enum CublasOperation
{
    N = 0,
    T = 1,
}

internal enum CublasLtMatmulDescAttribute
{
    TransA = 3,
    TransB = 4,
    Epilogue = 7,
    BiasPointer = 8,
    AScalePointer = 17,
    BScalePointer = 18,
    DScalePointer = 20,
    BiasDataType = 26,
}

internal enum CublasLtMatrixLayoutAttribute
{
    BatchCount = 5,
    StridedBatchOffset = 6,
}

internal enum CublasLtPreferenceAttribute
{
    MaxWorkspaceBytes = 1,
}

/// <summary>cublasLtMatmulAlgo_t: opaque, 8 × uint64.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CublasLtMatmulAlgo
{
    internal fixed ulong Data[8];
}

/// <summary>cublasLtMatmulHeuristicResult_t.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CublasLtHeuristicResult
{
    internal CublasLtMatmulAlgo Algo;
    internal nuint WorkspaceSize;
    internal int State;
    internal float WavesCount;
    internal fixed int Reserved[4];
}
