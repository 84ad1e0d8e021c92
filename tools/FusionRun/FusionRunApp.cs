using System.CommandLine;

namespace Fusion.Run;

/// <summary>
/// The tool's entry point, with its writers passed in so tests run it in-process. Exit codes: 0 success (and --help),
/// 1 a failure while loading or running, 2 a bad command line, 3 an input or weight file that is missing or does not fit.
/// Errors are one "error: ..." line on the error writer.
/// </summary>
public static class FusionRunApp
{
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var commandLine = new RunCommandLine();
        var parsed = commandLine.Root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var e in parsed.Errors) error.WriteLine("error: " + e.Message);
            error.WriteLine("(try fusion-run --help)");
            return ToolException.Usage;
        }
        commandLine.Root.SetAction(result => Execute(commandLine, result, output, error));
        return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
    }

    private static int Execute(RunCommandLine commandLine, ParseResult parsed, TextWriter output, TextWriter error)
    {
        try
        {
            var options = commandLine.Read(parsed);
            var report = new ConsoleReport(output);
            report.Line($"fusion-run {JsonReport.ToolVersion} on {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}");
            var result = new Runner(output, report).Run(options);
            report.Summary(result);
            if (options.Json is not null)
            {
                JsonReport.Write(options.Json, result);
                report.Field("json", options.Json);
            }
            return 0;
        }
        catch (ToolException e)
        {
            error.WriteLine("error: " + e.Message);
            return e.ExitCode;
        }
        catch (FusionException e)
        {
            error.WriteLine("error: " + e.Message);
            return ToolException.Failure;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Not one of the runtime's reported failures: name the type so a bug report has something to go on.
            error.WriteLine($"error: {e.GetType().Name}: {e.Message}");
            return ToolException.Failure;
        }
    }
}
