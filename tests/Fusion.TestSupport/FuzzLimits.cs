namespace Fusion.Testing;

/// <summary>
/// What one fuzzed reader may spend: allocated bytes per input as a function of the input's length (the bound
/// the reader can justify from the file alone), time per input (longer is a hang) and time for the whole run.
/// </summary>
public sealed record FuzzLimits(Func<long, long> AllocationBound)
{
    /// <summary>Inputs to try; the same in CI and locally, so a CI failure replays here.</summary>
    public int Iterations { get; init; } = 10_000;

    /// <summary>An input still being read after this is reported as a hang.</summary>
    public TimeSpan PerInput { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>After this the run stops early and reports how far it got, so a slow CI machine cannot stall the suite.</summary>
    public TimeSpan Overall { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>At most <paramref name="perFileByte"/> bytes per input byte plus <paramref name="constant"/>.</summary>
    public static FuzzLimits Linear(long perFileByte, long constant) => new(length => perFileByte * length + constant);
}
