namespace Fusion.Generator.Tests;

/// <summary>
/// Locates the repository from the test binaries (walking up to Fusion.sln). Not from
/// [CallerFilePath]: CI builds map source paths to /_/ for determinism.
/// </summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string SnapshotFolder => Path.Combine(Root, "tests", "Fusion.Generator.Tests", "Snapshots");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Fusion.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException($"no Fusion.sln above {AppContext.BaseDirectory}: run the tests from the repository's build output");
    }
}
