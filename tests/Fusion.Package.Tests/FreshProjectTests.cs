using System.Globalization;
using System.Text.RegularExpressions;

namespace Fusion.Package.Tests;

/// <summary>
/// A user's first hour, outside this repository: a fresh console project takes the `Fusion` package from a local
/// folder, declares its own [FusedModel], builds (the fusion summary appears in the build output) and runs on the CPU,
/// where the compiled forward pass is checked against a float64 reference written in the program itself.
/// </summary>
[Collection(PackedSolution.Collection)]
public sealed partial class FreshProjectTests(PackedSolution packed)
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(10);

    [Fact]
    public void AFreshConsoleProjectBuildsAndRunsItsOwnModelFromThePackage()
    {
        packed.Require();
        string app = Directory.CreateDirectory(Path.Combine(packed.Root, "app-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        FreshProject.Write(app, packed.Folder, Version(packed.Package("Fusion")));

        var build = DotnetCli.Run(app, Limit, "build", "-c", "Release", "-nodeReuse:false");
        Assert.True(build.ExitCode == 0, "build failed:\n" + build);
        Assert.Matches(SummaryLine(), build.Output);

        var run = DotnetCli.Run(app, Limit, "run", "-c", "Release", "--no-build");
        Assert.True(run.ExitCode == 0, "run failed:\n" + run);
        var result = ResultLine().Match(run.Output);
        Assert.True(result.Success, "no result line:\n" + run);
        Assert.Equal("3x7x40", result.Groups["shape"].Value);
        double error = double.Parse(result.Groups["error"].Value, CultureInfo.InvariantCulture);
        // float32 arithmetic against float64, values of order 1, a 96-long reduction and LayerNorm over 40.
        Assert.InRange(error, 0, 1e-4);
        var eager = EagerLine().Match(run.Output);
        Assert.True(eager.Success, "no eager line:\n" + run);
        Assert.Equal("0", eager.Groups["alive"].Value); // FUS016 would have failed the build (warnings are errors there)
        Assert.InRange(double.Parse(eager.Groups["difference"].Value, CultureInfo.InvariantCulture), 0, 1e-4);

        var quiet = DotnetCli.Run(app, Limit, "build", "-c", "Release", "--no-incremental", "-nodeReuse:false", "-p:FusionBuildSummary=false");
        Assert.True(quiet.ExitCode == 0, "build with the summary off failed:\n" + quiet);
        Assert.DoesNotContain("Fusion summary", quiet.Output);
    }

    private static string Version(string package) =>
        Path.GetFileNameWithoutExtension(package)["Fusion.".Length..];

    [GeneratedRegex(@"Fusion summary: TinyBlock: \d+ operators; Float plan \d+ kernels \(\d+ ops fused\).*Report: obj/Release/net10.0/generated/.*TinyBlock\.Fusion\.g\.cs")]
    private static partial Regex SummaryLine();

    [GeneratedRegex(@"shape (?<shape>\S+), max abs error (?<error>[0-9.eE+-]+)")]
    private static partial Regex ResultLine();

    [GeneratedRegex(@"eager: (?<alive>-?\d+) intermediates alive, max difference to Run (?<difference>[0-9.eE+-]+)")]
    private static partial Regex EagerLine();
}
