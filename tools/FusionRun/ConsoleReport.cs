using System.Globalization;
using Fusion.Imaging;

namespace Fusion.Run;

/// <summary>
/// What fusion-run prints: one "name: value" line per fact, one line per warm-up and timed pass, the top-5 classes of an
/// ImageNet classifier, the per-kernel table, and the closing statistics.
/// </summary>
internal sealed class ConsoleReport(TextWriter output)
{
    public void Line(string text) => output.WriteLine(text);

    public void Field(string name, string value) => output.WriteLine($"{name + ":",-13}{value}");

    public void Iteration(string kind, IterationRecord record)
    {
        string text = F($"{kind} {record.Index}:");
        string device = record.DeviceMs is double d ? F($"  device {d,9:F3} ms") : "";
        output.WriteLine(F($"{text,-13}wall {record.WallMs,9:F3} ms{device}"));
    }

    /// <summary>Each input's best classes: a "top-5: input N" line, then one "  1. 281 tabby  42.17%" line a class.</summary>
    public void TopClasses(IReadOnlyList<IReadOnlyList<ClassScore>> top)
    {
        for (int i = 0; i < top.Count; i++)
        {
            Field($"top-{top[i].Count}", F($"input {i}"));
            foreach (var line in Imaging.TopClasses.Lines(top[i])) output.WriteLine(line);
        }
    }

    public void Profile(KernelProfile profile)
    {
        output.WriteLine(F($"profile: per forward pass, mean of {profile.Runs} profiled passes ({profile.Clock})"));
        int width = Math.Max(6, profile.Rows.Count == 0 ? 6 : profile.Rows.Max(r => r.Name.Length));
        output.WriteLine(F($"  {"kernel".PadRight(width)}  {"calls",7}  {"total ms",10}  {"share",7}"));
        foreach (var row in profile.Rows)
            output.WriteLine(F($"  {row.Name.PadRight(width)}  {row.CallsPerRun,7:0.##}  {row.TotalMsPerRun,10:F3}  {row.SharePercent,6:F1}%"));
        output.WriteLine(F($"  {"total".PadRight(width)}  {profile.Rows.Sum(r => r.CallsPerRun),7:0.##}  {profile.TotalMsPerRun,10:F3}  {100.0,6:F1}%"));
    }

    /// <summary>The closing lines: wall (and device) average, sample standard deviation, minimum and maximum.</summary>
    public void Summary(RunResult result)
    {
        output.WriteLine(Stats("wall", result.Wall));
        if (result.DeviceTime is { } device) output.WriteLine(Stats("device", device));
    }

    public static string Stats(string what, TimingStats s) =>
        F($"{what}: avg {s.Mean:F3} ms, median {s.Median:F3} ms, std {s.StdDev:F3} ms, min {s.Min:F3} ms, max {s.Max:F3} ms over {s.Count} iterations");

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
