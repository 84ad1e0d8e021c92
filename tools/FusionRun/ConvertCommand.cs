using System.CommandLine;
using System.Diagnostics;
using Fusion.IO;

namespace Fusion.Run;

/// <summary>What <c>fusion-run convert</c> was asked to do, checked.</summary>
internal sealed record ConvertOptions(string Input, string Output, IReadOnlyList<string> KeepFloat32, bool Pad, bool Overwrite, string? Json);

/// <summary>One padded GEMM weight: the shape the model declares and the zero-padded one in the file.</summary>
internal sealed record PaddedTensor(string Name, int[] Logical, int[] Stored);

/// <summary>What a conversion did, for the console and the JSON report.</summary>
internal sealed record ConvertResult(
    ConvertOptions Options,
    IReadOnlyList<string> Converted,
    IReadOnlyList<string> KeptFloat32,
    IReadOnlyList<string> Unchanged,
    IReadOnlyList<PaddedTensor> Padded,
    long InputBytes,
    long OutputBytes,
    double Milliseconds)
{
    /// <summary>Output size over input size.</summary>
    public double Ratio => InputBytes == 0 ? 0 : (double)OutputBytes / InputBytes;
}

/// <summary>The System.CommandLine definition of <c>fusion-run convert INPUT OUTPUT</c> and the step to <see cref="ConvertOptions"/>.</summary>
internal sealed class ConvertCommandLine
{
    public const string Name = "convert";

    public Argument<string> Input { get; } = new("INPUT") { Description = "FP32 safetensors file to convert (read only; never replaced)" };
    public Argument<string> Output { get; } = new("OUTPUT") { Description = "FP16 safetensors file to write (not the input; an existing file only with --overwrite)" };
    public Option<string[]> KeepFloat32 { get; } = new("--keep-f32") { Description = "tensor NAME or PREFIX* that stays FP32 (repeatable; each must match a tensor)", AllowMultipleArgumentsPerToken = false };
    public Option<bool> NoPad { get; } = new("--no-pad") { Description = "do not zero-pad 2-D *.weight tensors to multiples of 8" };
    public Option<bool> Overwrite { get; } = new("--overwrite") { Description = "replace OUTPUT when it exists" };
    public Option<string?> Json { get; } = new("--json") { Description = "write what was converted, kept and padded, the sizes and the time to this JSON file" };

    public Command Command { get; }

    public ConvertCommandLine()
    {
        Command = new Command(Name, "convert an FP32 safetensors file to FP16 (keep-list, GEMM weights padded to multiples of 8, recorded in the metadata)");
        Command.Arguments.Add(Input);
        Command.Arguments.Add(Output);
        foreach (Option option in new Option[] { KeepFloat32, NoPad, Overwrite, Json })
            Command.Options.Add(option);
    }

    /// <summary>An unknown option, left over or taken by the parser for INPUT or OUTPUT (a path never starts with '-' here), or null.</summary>
    public string? UnknownOption(ParseResult result) =>
        new[] { result.GetResult(Input), result.GetResult(Output) }.SelectMany(r => r?.Tokens ?? []).Select(t => t.Value)
            .Concat(result.UnmatchedTokens).FirstOrDefault(v => v.StartsWith('-'));

    /// <summary>The checked options of a parse result without errors.</summary>
    public ConvertOptions Read(ParseResult result)
    {
        if (UnknownOption(result) is string unknown) throw ToolException.BadUsage($"unknown option '{unknown}' (try fusion-run convert --help)");
        var input = result.GetValue(Input) ?? "";
        var output = result.GetValue(Output) ?? "";
        var keep = result.GetValue(KeepFloat32) ?? [];
        foreach (var entry in keep)
        {
            if (entry.Length == 0 || entry == "*")
                throw ToolException.BadUsage($"--keep-f32 '{entry}': give a tensor name or a prefix ending in '*'");
            if (entry.IndexOf('*', StringComparison.Ordinal) is int star && star >= 0 && star != entry.Length - 1)
                throw ToolException.BadUsage($"--keep-f32 {entry}: '*' is only understood at the end (a prefix)");
        }
        return new ConvertOptions(input, output, keep, Pad: !result.GetValue(NoPad), result.GetValue(Overwrite), result.GetValue(Json));
    }
}

/// <summary>
/// One <c>fusion-run convert</c>: refuses, before reading anything, an output that is the input (exit 2), an existing output
/// without --overwrite (exit 2) and a missing input (exit 3); then converts through <see cref="PrecisionConverter"/>, whose
/// refusals (malformed file, already FP16, keep-list entry matching nothing) are exit 3 with its message.
/// </summary>
internal static class ConvertRunner
{
    public static ConvertResult Run(ConvertOptions options)
    {
        Check(options);
        var clock = Stopwatch.StartNew();
        PrecisionConversionReport report;
        try
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(options.Output));
            if (directory is not null) Directory.CreateDirectory(directory);
            report = PrecisionConverter.ToFloat16(options.Input, options.Output,
                new PrecisionConversionOptions { KeepFloat32 = options.KeepFloat32, PadGemmWeights = options.Pad, Overwrite = options.Overwrite });
        }
        catch (WeightFileException e) when (SamePath(e.Path, options.Output))
        {
            // The output appeared between the check above and the rename.
            throw ToolException.BadUsage($"{e.Message} (pass --overwrite to replace it)");
        }
        catch (WeightFileException e)
        {
            throw ToolException.BadInput(e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ToolException(ToolException.Failure, $"{options.Output}: cannot write ({e.Message})");
        }
        clock.Stop();

        // The stored shapes and the tensors copied as they were, from the file just written (validated as the loader does).
        using var written = SafetensorsFile.Open(options.Output);
        var padded = report.Padded.OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => new PaddedTensor(p.Key, p.Value, written[p.Key].Shape.ToArray())).ToList();
        var touched = report.Converted.Concat(report.KeptFloat32).ToHashSet(StringComparer.Ordinal);
        var unchanged = written.Tensors.Select(t => t.Name).Where(n => !touched.Contains(n)).ToList();
        return new ConvertResult(options, report.Converted, report.KeptFloat32, unchanged, padded, report.InputBytes, report.OutputBytes,
            clock.Elapsed.TotalMilliseconds);
    }

    private static void Check(ConvertOptions o)
    {
        if (SamePath(o.Input, o.Output))
            throw ToolException.BadUsage($"{o.Output}: the output is the input file; the converted file never replaces its input (choose another OUTPUT)");
        if (o.Json is not null && (SamePath(o.Json, o.Input) || SamePath(o.Json, o.Output)))
            throw ToolException.BadUsage($"--json {o.Json}: the report would overwrite {(SamePath(o.Json, o.Input) ? "INPUT" : "OUTPUT")}; choose another file");
        if (!File.Exists(o.Input))
            throw ToolException.BadInput(Directory.Exists(o.Input) ? $"{o.Input}: a folder, not a safetensors file" : $"{o.Input}: file not found");
        if (Directory.Exists(o.Output))
            throw ToolException.BadUsage($"{o.Output}: a folder; OUTPUT must be a file path");
        if (File.Exists(o.Output) && !o.Overwrite)
            throw ToolException.BadUsage($"{o.Output}: file exists (pass --overwrite to replace it)");
    }

    /// <summary>The same file: equal full paths, or equal after following symbolic links.</summary>
    private static bool SamePath(string a, string b)
    {
        var comparison = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        return string.Equals(Resolve(a), Resolve(b), comparison);
    }

    private static string Resolve(string path)
    {
        var full = Path.GetFullPath(path);
        try
        {
            return File.ResolveLinkTarget(full, returnFinalTarget: true)?.FullName ?? full;
        }
        catch (IOException)
        {
            return full; // a broken or looping link: compare the path itself
        }
    }
}
