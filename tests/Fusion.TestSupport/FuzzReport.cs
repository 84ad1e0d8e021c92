namespace Fusion.Testing;

/// <summary>How a fuzz run went: inputs tried, how the reader answered, and the most it spent on one input.</summary>
public sealed record FuzzReport(
    string Format, int Seed, int Requested, int Ran, int Accepted, int Rejected,
    TimeSpan Elapsed, TimeSpan SlowestInput, long MostAllocated, long MostAllocatedFileLength)
{
    /// <summary>Whether the overall time cap cut the run short.</summary>
    public bool StoppedEarly => Ran < Requested;

    public override string ToString() =>
        $"{Format} fuzz (seed {Seed}): {Ran} of {Requested} inputs in {Elapsed.TotalSeconds:F1} s" +
        (StoppedEarly ? " (stopped early by the time cap)" : "") +
        $"; {Accepted} accepted, {Rejected} rejected; slowest input {SlowestInput.TotalMilliseconds:F0} ms; " +
        $"most allocated {MostAllocated} bytes for a {MostAllocatedFileLength}-byte input";
}
