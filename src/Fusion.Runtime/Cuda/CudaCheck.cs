using System.Runtime.InteropServices;
using Fusion.Cuda.Native;

namespace Fusion.Cuda;

/// <summary>
/// Turns driver return codes into exceptions. A sticky error poisons the whole process's CUDA
/// state, so it is remembered here and every later call fails fast with the original cause.
/// </summary>
internal static class CudaCheck
{
    private static volatile string? s_lostReason;

    /// <summary>Why the device became unusable, or null while it is healthy.</summary>
    internal static string? LostReason => s_lostReason;

    internal static void Driver(CuResult result, string call)
    {
        if (result == CuResult.Success) return;
        throw DriverError(result, call);
    }

    internal static void Nvrtc(int result, string call)
    {
        if (result == NvrtcApi.Success) return;
        string name;
        try
        {
            name = Marshal.PtrToStringUTF8(NvrtcApi.nvrtcGetErrorString(result)) ?? $"NVRTC_ERROR_{result}";
        }
        catch (EntryPointNotFoundException)
        {
            name = $"NVRTC_ERROR_{result}";
        }
        throw new CudaException(name, "NVRTC call failed", call, result);
    }

    internal static void Cublas(int status, string call)
    {
        if (status == CublasLtApi.Success) return;
        throw new CudaException(CublasLtApi.StatusName(status), CublasLtApi.StatusMessage(status), call, status);
    }

    internal static CudaException DriverError(CuResult result, string call)
    {
        var (name, message) = Describe(result);
        if (IsSticky(result))
        {
            var lost = new CudaDeviceLostException(name, message, call, (int)result);
            s_lostReason ??= lost.Message;
            return lost;
        }
        return new CudaException(name, message, call, (int)result);
    }

    /// <summary>Throws when an earlier sticky error has made the device unusable.</summary>
    internal static void ThrowIfLost()
    {
        var reason = s_lostReason;
        if (reason is not null)
            throw new FusionException($"the CUDA device is unusable after an earlier error; restart the process. First error: {reason}");
    }

    /// <summary>Errors after which the context cannot be used again.</summary>
    internal static bool IsSticky(CuResult result) => result is CuResult.IllegalAddress or CuResult.LaunchFailed
        or CuResult.MisalignedAddress or CuResult.HardwareStackError or CuResult.IllegalInstruction
        or CuResult.InvalidAddressSpace or CuResult.InvalidPc or CuResult.Assert or CuResult.EccUncorrectable
        or CuResult.LaunchTimeout;

    /// <summary>Release paths: a failing driver (for example after a sticky error) must not turn disposal into a crash.</summary>
    internal static void Release(CuResult result, string call)
    {
        if (result != CuResult.Success && result != CuResult.Deinitialized && s_lostReason is null)
            Console.Error.WriteLine($"fusion: warning: {call} returned {Describe(result).Name} while releasing a CUDA resource");
    }

    internal static (string Name, string Message) Describe(CuResult result)
    {
        try
        {
            string name = CuDriverApi.cuGetErrorName(result, out var n) == CuResult.Success && n != IntPtr.Zero
                ? Marshal.PtrToStringUTF8(n) ?? $"CUDA_ERROR_{(int)result}" : $"CUDA_ERROR_{(int)result}";
            string text = CuDriverApi.cuGetErrorString(result, out var t) == CuResult.Success && t != IntPtr.Zero
                ? Marshal.PtrToStringUTF8(t) ?? "unknown error" : "unknown error";
            return (name, text);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return ($"CUDA_ERROR_{(int)result}", "libcuda could not be queried for the error text");
        }
    }
}
