using System.Diagnostics;

namespace Fusion.Package.Tests;

/// <summary>The `dotnet` command line, run as a child process the way a user runs it.</summary>
internal static class DotnetCli
{
    public sealed record Result(int ExitCode, string Output)
    {
        public override string ToString() => $"exit code {ExitCode}\n{Output}";
    }

    /// <summary>Why the SDK cannot be used here, or null when `dotnet --list-sdks` names a 10.x SDK.</summary>
    public static string? WhyNoSdk()
    {
        try
        {
            var r = Run(Environment.CurrentDirectory, TimeSpan.FromMinutes(1), "--list-sdks");
            return r.ExitCode == 0 && r.Output.Split('\n').Any(l => l.StartsWith("10.", StringComparison.Ordinal))
                ? null
                : "no .NET 10 SDK: `dotnet --list-sdks` printed " + (r.Output.Trim().Length == 0 ? "nothing" : r.Output.Trim());
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return "no `dotnet` on PATH: " + e.Message;
        }
    }

    public static Result Run(string workingDirectory, TimeSpan timeout, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        // The test host runs under `dotnet test`, whose MSBuild variables would steer the child's build into the
        // parent's SDK resolution and nodes: the child starts as a user's shell would.
        foreach (var key in start.Environment.Keys.Where(IsInheritedBuildVariable).ToList()) start.Environment.Remove(key);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["MSBUILDTERMINALLOGGER"] = "off";

        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', args)} ran past {timeout.TotalMinutes} min:\n{output}");
        }
        process.WaitForExit();
        lock (output) return new Result(process.ExitCode, output.ToString());
    }

    private static bool IsInheritedBuildVariable(string key) =>
        key.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)
        || key.StartsWith("TESTINGPLATFORM", StringComparison.OrdinalIgnoreCase)
        || key is "DOTNET_HOST_PATH" or "DOTNET_CLI_TEST_COMMAND" or "MSBuildSDKsPath" or "MSBuildExtensionsPath";
}
