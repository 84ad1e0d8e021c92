using Fusion.Generator.Tests;
using Fusion.Runtime.Tests.IO;

namespace Fusion.Package.Tests;

/// <summary>
/// `dotnet pack Fusion.sln` into a temporary folder, once for the test class, in the configuration these tests were
/// built in (so the pack finds the build up to date). Holds why it could not run when there is no SDK.
/// </summary>
public sealed class PackedSolution : IDisposable
{
    public const string Collection = "packed solution";

#if DEBUG
    public const string Configuration = "Debug";
#else
    public const string Configuration = "Release";
#endif

    public PackedSolution()
    {
        WhyNot = DotnetCli.WhyNoSdk();
        if (WhyNot is not null) return;
        var pack = DotnetCli.Run(RepoPaths.Root, TimeSpan.FromMinutes(15),
            "pack", "Fusion.sln", "-c", Configuration, "-o", Folder, "-nodeReuse:false");
        PackOutput = pack.ToString();
        Succeeded = pack.ExitCode == 0;
    }

    private readonly TempDirectory _root = new();

    public string Root => _root.Path;

    public string Folder => Path.Combine(Root, "nupkg");

    public string? WhyNot { get; }

    public bool Succeeded { get; }

    public string PackOutput { get; } = "";

    /// <summary>Skips (visibly) without an SDK unless FUSION_REQUIRE_SDK=1; fails when the pack failed.</summary>
    public void Require()
    {
        if (WhyNot is not null)
        {
            if (Environment.GetEnvironmentVariable("FUSION_REQUIRE_SDK") == "1") Assert.Fail($"FUSION_REQUIRE_SDK=1 but {WhyNot}");
            Fusion.Testing.VisibleSkip.Because("no .NET SDK to pack and build with", WhyNot, "set FUSION_REQUIRE_SDK=1 to fail instead");
        }
        Assert.True(Succeeded, "dotnet pack Fusion.sln failed:\n" + PackOutput);
    }

    public string Package(string id) =>
        Directory.GetFiles(Folder, id + ".*.nupkg").Single(f => PackageId(f) == id);

    /// <summary>The id of a package file named id.major.minor.patch[-suffix].(s)nupkg.</summary>
    public static string PackageId(string file)
    {
        var name = Path.GetFileName(file);
        var match = System.Text.RegularExpressions.Regex.Match(name, @"^(.+?)\.\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?\.s?nupkg$");
        return match.Success ? match.Groups[1].Value : throw new InvalidDataException($"not a package file name: {name}");
    }

    public void Dispose() => _root.Dispose();
}

/// <summary>One pack for every test class that reads the packages.</summary>
[CollectionDefinition(PackedSolution.Collection)]
public sealed class PackedSolutionCollection : ICollectionFixture<PackedSolution>;
