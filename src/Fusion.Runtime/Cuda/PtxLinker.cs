using System.Text;
using Fusion.Cuda.Native;

namespace Fusion.Cuda;

/// <summary>
/// Compiles PTX to a CUBIN for the device's own architecture with the driver's linker (cuLink*), so what the driver's JIT makes of
/// PTX can be kept in the <see cref="KernelCache"/>: a later process loads the CUBIN with no JIT at all (loading the PTX itself
/// would JIT it at every start, or rely on the driver's own cache, which users may have turned off or shared). Needs the device's
/// context current on the calling thread; separate threads link separately.
/// </summary>
internal static unsafe class PtxLinker
{
    private const int LogBytes = 16 * 1024;

    /// <summary>The CUBIN of <paramref name="ptx"/> (NUL-terminated); <paramref name="name"/> names it in errors, with the JIT's log.</summary>
    public static byte[] ToCubin(CudaDevice device, byte[] ptx, string name)
    {
        device.MakeCurrent();
        var log = new byte[LogBytes];
        fixed (byte* logBuffer = log)
        fixed (byte* data = ptx)
        {
            var options = stackalloc CuJitOption[] { CuJitOption.ErrorLogBuffer, CuJitOption.ErrorLogBufferSizeBytes };
            var values = stackalloc void*[] { logBuffer, (void*)(nint)LogBytes };
            CudaCheck.Driver(CuDriverApi.cuLinkCreate_v2(2, options, values, out var state), "cuLinkCreate");
            try
            {
                var added = CuDriverApi.cuLinkAddData_v2(state, CuJitInputType.Ptx, data, (nuint)ptx.Length, null, 0, null, null);
                if (added != CuResult.Success) throw Failure(added, "cuLinkAddData", name, log);
                var completed = CuDriverApi.cuLinkComplete(state, out var cubin, out var size);
                if (completed != CuResult.Success) throw Failure(completed, "cuLinkComplete", name, log);
                // The CUBIN belongs to the link state: copy it out before destroying that.
                return new ReadOnlySpan<byte>(cubin, checked((int)size)).ToArray();
            }
            finally
            {
                CudaCheck.Release(CuDriverApi.cuLinkDestroy(state), "cuLinkDestroy");
            }
        }
    }

    private static FusionException Failure(CuResult result, string call, string name, byte[] log)
    {
        int end = Array.IndexOf(log, (byte)0);
        string text = Encoding.UTF8.GetString(log, 0, end < 0 ? log.Length : end).Trim();
        var error = CudaCheck.DriverError(result, call);
        return new FusionException($"the driver could not compile the PTX of kernel {name} for the GPU: {error.Message}" + (text.Length > 0 ? $"\n{text}" : ""), error);
    }
}
