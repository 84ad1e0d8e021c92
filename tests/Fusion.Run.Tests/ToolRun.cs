namespace Fusion.Run.Tests;

/// <summary>fusion-run run in-process: its exit code and everything it wrote to stdout and stderr.</summary>
internal sealed record ToolRun(int ExitCode, string Output, string Error)
{
    public static ToolRun Of(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int code = FusionRunApp.Run(args, output, error);
        return new ToolRun(code, output.ToString(), error.ToString());
    }

    public string[] OutputLines => Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Runs <paramref name="args"/> and asserts it is refused with exit code <paramref name="code"/> and an error line containing <paramref name="message"/>.</summary>
    public static ToolRun AssertRefused(int code, string message, params string[] args)
    {
        var run = Of(args);
        Assert.True(code == run.ExitCode, $"exit {run.ExitCode}, expected {code}: {run.Error}");
        Assert.Contains(message, run.Error);
        return run;
    }
}

/// <summary>A temporary folder deleted after the test.</summary>
internal sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("fusion-run-tests-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // best effort: a leftover temp folder fails nothing
        }
    }
}
