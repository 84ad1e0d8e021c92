namespace Fusion.Cuda;

/// <summary>NVRTC rejected a kernel's source. The message names the kernel, quotes the first offending line and carries the full log.</summary>
public sealed class NvrtcCompileException : FusionException
{
    public NvrtcCompileException(string kernelName, string log, int? line, string? sourceLine)
        : base(Format(kernelName, log, line, sourceLine))
    {
        KernelName = kernelName;
        Log = log;
        Line = line;
        SourceLine = sourceLine;
    }

    public string KernelName { get; }

    /// <summary>NVRTC's full compilation log.</summary>
    public string Log { get; }

    /// <summary>1-based line of the first error in the kernel's source, when the log names one.</summary>
    public int? Line { get; }

    /// <summary>The text of that line.</summary>
    public string? SourceLine { get; }

    private static string Format(string kernelName, string log, int? line, string? sourceLine)
    {
        var where = line is null ? "" : $" at line {line}: {sourceLine?.Trim()}";
        return $"NVRTC could not compile kernel '{kernelName}'{where}\n{log.TrimEnd()}";
    }
}
