using System.Collections.Concurrent;
using Xunit;
using Xunit.Sdk;
using Xunit.v3;

namespace Fusion.Testing;

/// <summary>
/// Skips that say why at `dotnet test`'s default verbosity. The test adapter prints a skipped test's name there but
/// its reason only at normal verbosity, while diagnostic messages (xunit.runner.json: diagnosticMessages) always show:
/// so each skip sends its reason as one, and <see cref="SkipSummary"/> closes the assembly's run with one line per cause
/// ("580 tests skipped: no CUDA device: …").
/// </summary>
public static class VisibleSkip
{
    private static readonly ConcurrentDictionary<string, (int Count, string Detail)> s_causes = new();

    /// <summary>
    /// Skips the running test for <paramref name="cause"/> (short, the same for every test it skips, e.g. "no CUDA
    /// device"); <paramref name="detail"/> (what was probed, how to fix it) is printed once, in the summary.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void Because(string cause, string detail, string overrideHint)
    {
        s_causes.AddOrUpdate(cause, _ => (1, detail), (_, c) => (c.Count + 1, c.Detail));
        string test = TestContext.Current.Test?.TestDisplayName ?? "a test";
        TestContext.Current.SendDiagnosticMessage($"skipped {test}: {cause} ({overrideHint})");
        Assert.Skip($"{cause}: {detail} ({overrideHint})");
        throw new InvalidOperationException("unreachable: Assert.Skip throws");
    }

    internal static IReadOnlyList<string> SummaryLines() =>
        s_causes.OrderBy(c => c.Key, StringComparer.Ordinal)
            .Select(c => $"{c.Value.Count} {(c.Value.Count == 1 ? "test" : "tests")} skipped: {c.Key}: {c.Value.Detail}").ToList();
}

/// <summary>
/// The closing line(s) of a test assembly's run: how many tests each cause skipped (none printed when nothing skipped).
/// Registered in every test project by tests/VisibleSkipRegistration.cs.
/// </summary>
public sealed class SkipSummary(IMessageSink diagnostics) : IDisposable
{
    public void Dispose()
    {
        foreach (var line in VisibleSkip.SummaryLines()) diagnostics.OnMessage(new DiagnosticMessage(line));
    }
}
