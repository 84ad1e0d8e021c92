using System.CommandLine;

namespace Fusion.Run;

/// <summary>
/// The tool's entry point, with its writers passed in so tests run it in-process: <c>fusion-run MODEL [options]</c> runs
/// and times a model, <c>fusion-run convert INPUT OUTPUT [options]</c> writes an FP16 copy of an FP32 weight file,
/// <c>fusion-run calibrate MODEL --weights W --calib …</c> writes a model's int8 scales, <c>fusion-run sensitivity MODEL --weights W
/// --eval …</c> ranks its int8 Linears by what int8 costs each in accuracy.
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
        commandLine.Calibrate.Command.SetAction(result => Guarded(error, () => Calibrate(commandLine.Calibrate.Read(result), output)));
        commandLine.Sensitivity.Command.SetAction(result => Guarded(error, () => Sensitivity(commandLine.Sensitivity.Read(result), output)));
        // A subcommand is the command only as the first word; anywhere else (after MODEL or an option) it is refused, never guessed.
        var subcommands = new (string Name, string Usage, Command Command, RootCommand Root, Func<ParseResult, string?> Unknown)[]
        {
            (ConvertCommandLine.Name, "fusion-run convert INPUT OUTPUT [options]", commandLine.Convert.Command, commandLine.ConvertRoot, commandLine.Convert.UnknownOption),
            (CalibrateCommandLine.Name, "fusion-run calibrate MODEL --weights W --calib FILE.npy|DIR [options]", commandLine.Calibrate.Command, commandLine.CalibrateRoot,
                commandLine.Calibrate.UnknownOption),
            (SensitivityCommandLine.Name, "fusion-run sensitivity MODEL --weights W --eval FILE.npy|DIR [options]", commandLine.Sensitivity.Command, commandLine.SensitivityRoot,
                commandLine.Sensitivity.UnknownOption),
        };
        int first = args.Length > 0 ? Array.FindIndex(subcommands, c => c.Name == args[0]) : -1;
        var parsed = (first >= 0 ? subcommands[first].Root : commandLine.Root).Parse(args);
        if (first < 0 && subcommands.FirstOrDefault(c => parsed.CommandResult.Command == c.Command) is { Name: not null } misplaced)
        {
            error.WriteLine($"error: '{misplaced.Name}' must be the first word ({misplaced.Usage}); to run a model class named {misplaced.Name}, give its full name with --assembly");
            return ToolException.Usage;
        }
        if (parsed.Errors.Count > 0 && first >= 0 && subcommands[first].Unknown(parsed) is string unknown)
        {
            error.WriteLine($"error: unknown option '{unknown}' (try fusion-run {subcommands[first].Name} --help)");
            return ToolException.Usage;
        }
        if (parsed.Errors.Count > 0)
        {
            foreach (var e in parsed.Errors) error.WriteLine("error: " + e.Message);
            error.WriteLine(first >= 0 ? $"(try fusion-run {subcommands[first].Name} --help)" : "(try fusion-run --help)");
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

    private static int Calibrate(CalibrateOptions options, TextWriter output)
    {
        var report = new ConsoleReport(output);
        report.Line($"fusion-run {JsonReport.ToolVersion} calibrate");
        var result = CalibrateRunner.Run(options);
        report.Field("model", result.ModelName);
        report.Field("weights", options.Weights);
        report.Field("calibration", $"{result.Files.Count} file(s), {result.Batches} batch(es), {result.Samples} sample(s)");
        report.Field("method", options.Method == Quantization.CalibrationMethod.Percentile
            ? $"percentile {options.Percentile.ToString(System.Globalization.CultureInfo.InvariantCulture)}"
            : options.Method.ToString().ToLowerInvariant());
        foreach (var (tensor, threshold) in result.Thresholds.OrderBy(t => t.Key, StringComparer.Ordinal))
            report.Field(tensor, threshold.ToString("G6", System.Globalization.CultureInfo.InvariantCulture));
        report.Field("written", options.Output);
        return 0;
    }

    private static int Sensitivity(SensitivityOptions options, TextWriter output)
    {
        var report = new ConsoleReport(output);
        report.Line($"fusion-run {JsonReport.ToolVersion} sensitivity");
        report.Field("weights", options.Weights);
        report.Field("scales", options.Scales);
        var result = SensitivityRunner.Run(options, pass => report.Field("pass", pass));
        report.Field("model", result.Model);
        SensitivityReportText.Print(report, result);
        if (options.Json is not null)
        {
            JsonReport.Write(options.Json, SensitivityReportText.Build(result));
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
