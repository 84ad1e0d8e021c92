using System.CommandLine;

namespace Fusion.Run;

/// <summary>
/// The tool's entry point, with its writers passed in so tests run it in-process: <c>fusion-run MODEL [options]</c> runs
/// and times a model, <c>fusion-run convert INPUT OUTPUT [options]</c> writes an FP16 copy of an FP32 weight file.
/// Exit codes: 0 success (and --help), 1 a failure while loading, running or writing, 2 a bad command line, 3 an input or
/// weight file that is missing or does not fit. Errors are one "error: ..." line on the error writer.
/// </summary>
public static class FusionRunApp
{
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var commandLine = new RunCommandLine();
        // Actions before parsing: a root without one would require a command.
        commandLine.Root.SetAction(result => Guarded(error, () => Execute(commandLine.Read(result), output)));
        commandLine.Convert.Command.SetAction(result => Guarded(error, () => Convert(commandLine.Convert.Read(result), output)));
        // "convert" is the command only as the first word; anywhere else (after MODEL or an option) it is refused, never guessed.
        bool convert = args.Length > 0 && args[0] == ConvertCommandLine.Name;
        var parsed = (convert ? commandLine.ConvertRoot : commandLine.Root).Parse(args);
        if (!convert && parsed.CommandResult.Command == commandLine.Convert.Command)
        {
            error.WriteLine("error: 'convert' must be the first word (fusion-run convert INPUT OUTPUT [options]); to run a model class named convert, give its full name with --assembly");
            return ToolException.Usage;
        }
        if (parsed.Errors.Count > 0 && convert && commandLine.Convert.UnknownOption(parsed) is string unknown)
        {
            error.WriteLine($"error: unknown option '{unknown}' (try fusion-run convert --help)");
            return ToolException.Usage;
        }
        if (parsed.Errors.Count > 0)
        {
            foreach (var e in parsed.Errors) error.WriteLine("error: " + e.Message);
            error.WriteLine(convert ? "(try fusion-run convert --help)" : "(try fusion-run --help)");
            return ToolException.Usage;
        }
        return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
    }

    private static int Execute(RunOptions options, TextWriter output)
    {
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

    private static int Convert(ConvertOptions options, TextWriter output)
    {
        var report = new ConsoleReport(output);
        report.Line($"fusion-run {JsonReport.ToolVersion} convert");
        var result = ConvertRunner.Run(options);
        ConvertReport.Print(report, result);
        if (options.Json is not null)
        {
            JsonReport.Write(options.Json, ConvertReport.Build(result));
            report.Field("json", options.Json);
        }
        return 0;
    }

    /// <summary>Runs <paramref name="body"/>, turning every failure into one "error: ..." line and its exit code.</summary>
    private static int Guarded(TextWriter error, Func<int> body)
    {
        try
        {
            return body();
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
