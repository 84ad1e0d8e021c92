using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Fusion.Cuda.Native;
using Fusion.Kernels;

namespace Fusion.Cuda;

/// <summary>
/// Run-time compilation of header-free CUDA C with NVRTC. Kernels #include the prelude (and any
/// other shipped .cuh) by name; those headers are handed to NVRTC in memory, not read from disk.
/// </summary>
public static unsafe partial class Nvrtc
{
    private static readonly Lazy<Version> s_version = new(QueryVersion);

    /// <summary>The NVRTC library's version (throws if libnvrtc is missing).</summary>
    public static Version Version => s_version.Value;

    /// <summary>Compiles to CUBIN for a real architecture such as sm_90.</summary>
    public static byte[] CompileCubin(string kernelName, string source, string architecture, IReadOnlyList<string>? options = null)
        => Compile(kernelName, source, $"--gpu-architecture={architecture}", options, cubin: true);

    /// <summary>Compiles to PTX text for a virtual architecture such as compute_90.</summary>
    public static string CompilePtx(string kernelName, string source, string virtualArchitecture, IReadOnlyList<string>? options = null)
    {
        var bytes = Compile(kernelName, source, $"--gpu-architecture={virtualArchitecture}", options, cubin: false);
        return Encoding.UTF8.GetString(bytes).TrimEnd('\0');
    }

    private static readonly IReadOnlyList<string> s_language = ["--std=c++17"];
    private static IReadOnlyList<string>? s_standard;

    /// <summary>
    /// The options every compilation gets, besides the architecture: C++17, and -lineinfo under <see cref="NvrtcLineInfo"/> (settled
    /// at the first compilation; a bad value of its variable is an error there, each time until mended).
    /// </summary>
    public static IReadOnlyList<string> StandardOptions => s_standard ??= NvrtcLineInfo.Apply(s_language, NvrtcLineInfo.Enabled);

    private static byte[] Compile(string kernelName, string source, string archOption, IReadOnlyList<string>? extra, bool cubin)
    {
        CudaLibraryResolver.Load(CudaLibraryResolver.Nvrtc);
        var headers = KernelSources.Headers.ToList();
        var strings = new List<IntPtr>();
        IntPtr Utf8(string s)
        {
            var p = Marshal.StringToCoTaskMemUTF8(s);
            strings.Add(p);
            return p;
        }
        IntPtr program = IntPtr.Zero;
        try
        {
            var headerTexts = stackalloc byte*[Math.Max(1, headers.Count)];
            var headerNames = stackalloc byte*[Math.Max(1, headers.Count)];
            for (int i = 0; i < headers.Count; i++)
            {
                headerTexts[i] = (byte*)Utf8(headers[i].Value);
                headerNames[i] = (byte*)Utf8(headers[i].Key);
            }
            CudaCheck.Nvrtc(NvrtcApi.nvrtcCreateProgram(out program, (byte*)Utf8(source), (byte*)Utf8(kernelName + ".cu"),
                headers.Count, headerTexts, headerNames), "nvrtcCreateProgram");

            var options = StandardOptions.Append(archOption).Concat(extra ?? []).ToList();
            var optionPtrs = stackalloc byte*[options.Count];
            for (int i = 0; i < options.Count; i++) optionPtrs[i] = (byte*)Utf8(options[i]);
            int result = NvrtcApi.nvrtcCompileProgram(program, options.Count, optionPtrs);
            if (result == NvrtcApi.CompilationError)
                throw CompileError(kernelName, source, ReadLog(program));
            CudaCheck.Nvrtc(result, "nvrtcCompileProgram");
            return cubin ? ReadCubin(program) : ReadPtx(program);
        }
        finally
        {
            if (program != IntPtr.Zero) NvrtcApi.nvrtcDestroyProgram(ref program);
            foreach (var p in strings) Marshal.FreeCoTaskMem(p);
        }
    }

    /// <summary>Finds the first "name.cu(LINE): error" in the log and quotes that line of the source.</summary>
    internal static NvrtcCompileException CompileError(string kernelName, string source, string log)
    {
        var m = ErrorLine().Match(log);
        if (!m.Success || !m.Groups["file"].Value.EndsWith(kernelName + ".cu", StringComparison.Ordinal))
            return new NvrtcCompileException(kernelName, log, null, null);
        int line = int.Parse(m.Groups["line"].Value, System.Globalization.CultureInfo.InvariantCulture);
        var lines = source.Split('\n');
        string? text = line >= 1 && line <= lines.Length ? lines[line - 1].TrimEnd('\r') : null;
        return new NvrtcCompileException(kernelName, log, line, text);
    }

    [GeneratedRegex(@"^(?<file>[^\s(]+)\((?<line>\d+)\): (catastrophic )?error", RegexOptions.Multiline)]
    private static partial Regex ErrorLine();

    private static string ReadLog(IntPtr program)
    {
        CudaCheck.Nvrtc(NvrtcApi.nvrtcGetProgramLogSize(program, out var size), "nvrtcGetProgramLogSize");
        var buffer = new byte[(int)size];
        fixed (byte* p = buffer) CudaCheck.Nvrtc(NvrtcApi.nvrtcGetProgramLog(program, p), "nvrtcGetProgramLog");
        return Encoding.UTF8.GetString(buffer).TrimEnd('\0');
    }

    private static byte[] ReadCubin(IntPtr program)
    {
        CudaCheck.Nvrtc(NvrtcApi.nvrtcGetCUBINSize(program, out var size), "nvrtcGetCUBINSize");
        var buffer = new byte[(int)size];
        fixed (byte* p = buffer) CudaCheck.Nvrtc(NvrtcApi.nvrtcGetCUBIN(program, p), "nvrtcGetCUBIN");
        return buffer;
    }

    private static byte[] ReadPtx(IntPtr program)
    {
        CudaCheck.Nvrtc(NvrtcApi.nvrtcGetPTXSize(program, out var size), "nvrtcGetPTXSize");
        var buffer = new byte[(int)size];
        fixed (byte* p = buffer) CudaCheck.Nvrtc(NvrtcApi.nvrtcGetPTX(program, p), "nvrtcGetPTX");
        return buffer;
    }

    private static Version QueryVersion()
    {
        CudaLibraryResolver.Load(CudaLibraryResolver.Nvrtc);
        CudaCheck.Nvrtc(NvrtcApi.nvrtcVersion(out var major, out var minor), "nvrtcVersion");
        return new Version(major, minor);
    }
}
