namespace Fusion.Run;

/// <summary>
/// A failure the tool reports as one "error: ..." line and an exit code, never as a stack trace.
/// Exit codes: <see cref="Usage"/> for a bad command line (unknown model, device, option value, or a combination the
/// device cannot run), <see cref="Input"/> for a file that is missing or does not fit the model, <see cref="Failure"/>
/// for anything that goes wrong while loading or running.
/// </summary>
internal sealed class ToolException(int exitCode, string message) : Exception(message)
{
    public const int Failure = 1;
    public const int Usage = 2;
    public const int Input = 3;

    public int ExitCode { get; } = exitCode;

    public static ToolException BadUsage(string message) => new(Usage, message);

    public static ToolException BadInput(string message) => new(Input, message);
}
