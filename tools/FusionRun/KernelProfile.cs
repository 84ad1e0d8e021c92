namespace Fusion.Run;

/// <summary>One row of the per-kernel table: a fused kernel's or operator's name, its calls and time per forward pass, and its share of the total.</summary>
internal sealed record KernelProfileRow(string Name, double CallsPerRun, double TotalMsPerRun, double SharePercent);

/// <summary>The per-kernel table of --profile, averaged over <see cref="Runs"/> profiled forward passes; <see cref="Clock"/> says what was timed.</summary>
internal sealed record KernelProfile(int Runs, string Clock, IReadOnlyList<KernelProfileRow> Rows)
{
    public double TotalMsPerRun => Rows.Sum(r => r.TotalMsPerRun);

    /// <summary>Rows from summed (calls, milliseconds) per name over <paramref name="runs"/> passes, largest first.</summary>
    public static KernelProfile From(IReadOnlyDictionary<string, (int Calls, double Ms)> totals, int runs, string clock)
    {
        double all = totals.Values.Sum(v => v.Ms);
        var rows = totals
            .Select(kv => new KernelProfileRow(kv.Key, (double)kv.Value.Calls / runs, kv.Value.Ms / runs, all > 0 ? 100.0 * kv.Value.Ms / all : 0))
            .OrderByDescending(r => r.TotalMsPerRun).ThenBy(r => r.Name, StringComparer.Ordinal)
            .ToList();
        return new KernelProfile(runs, clock, rows);
    }
}
