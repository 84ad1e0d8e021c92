namespace Fusion.Cuda;

/// <summary>A CUDA, NVRTC or cuBLASLt call failed. Carries the error's name, its message and the call that failed.</summary>
public class CudaException : FusionException
{
    public CudaException(string errorName, string errorMessage, string call, int code)
        : this(errorName, errorMessage, call, code, $"{call} failed: {errorName} ({errorMessage})") { }

    protected CudaException(string errorName, string errorMessage, string call, int code, string message)
        : base(message)
    {
        ErrorName = errorName;
        ErrorMessage = errorMessage;
        Call = call;
        Code = code;
    }

    /// <summary>The library's name for the error, e.g. CUDA_ERROR_ILLEGAL_ADDRESS.</summary>
    public string ErrorName { get; }

    /// <summary>The library's description of the error.</summary>
    public string ErrorMessage { get; }

    /// <summary>The native function that returned the error.</summary>
    public string Call { get; }

    /// <summary>The raw return code.</summary>
    public int Code { get; }
}

/// <summary>
/// A sticky error (illegal address, launch failure, …) corrupted the CUDA context: no later call on
/// this device can succeed, so the device is marked unusable and the process must restart.
/// </summary>
public sealed class CudaDeviceLostException : CudaException
{
    public CudaDeviceLostException(string errorName, string errorMessage, string call, int code)
        : base(errorName, errorMessage, call, code,
            $"{call} failed: {errorName} ({errorMessage}). The CUDA context is corrupted and the device is now unusable; restart the process.")
    { }
}

/// <summary>A device allocation failed even after the allocator released its cached blocks.</summary>
public sealed class CudaOutOfMemoryException : CudaException
{
    public CudaOutOfMemoryException(long requestedBytes, long freeBytes, long totalBytes, long cachedBytes)
        : base("CUDA_ERROR_OUT_OF_MEMORY", "out of memory", "cuMemAlloc_v2", 2,
            $"CUDA out of memory: requested {Bytes(requestedBytes)}, free {Bytes(freeBytes)} of {Bytes(totalBytes)} on the device "
            + $"(the allocator held {Bytes(cachedBytes)} cached, already released)")
    {
        RequestedBytes = requestedBytes;
        FreeBytes = freeBytes;
    }

    public long RequestedBytes { get; }

    public long FreeBytes { get; }

    internal static string Bytes(long n) => n >= 1 << 20 ? $"{n / (double)(1 << 20):F1} MiB ({n} bytes)" : $"{n} bytes";
}

/// <summary>A CUDA library could not be loaded; names the library and every path tried.</summary>
public sealed class CudaLibraryNotFoundException : FusionException
{
    public CudaLibraryNotFoundException(string library, IReadOnlyList<string> tried)
        : base($"the CUDA library '{library}' could not be loaded; tried: {string.Join(", ", tried)}. "
            + "Install the NVIDIA driver (libcuda) and the CUDA toolkit libraries (NVRTC, cuBLASLt), or add their folder to LD_LIBRARY_PATH or CUDA_PATH.")
    {
        Library = library;
        Tried = tried;
    }

    public string Library { get; }

    public IReadOnlyList<string> Tried { get; }
}
