using System.IO.Compression;
using System.Xml.Linq;

namespace Fusion.Package.Tests;

/// <summary>What `dotnet pack Fusion.sln` produces: exactly the shippable packages, each complete.</summary>
[Collection(PackedSolution.Collection)]
public sealed class PackageContentTests(PackedSolution packed)
{
    [Fact]
    public void TheSolutionPacksExactlyTheShippablePackages()
    {
        packed.Require();
        var ids = Directory.GetFiles(packed.Folder, "*.nupkg").Select(PackedSolution.PackageId).Order().ToArray();
        Assert.Equal(["Fusion", "Fusion.Imaging", "Fusion.Run"], ids);
        var symbols = Directory.GetFiles(packed.Folder, "*.snupkg").Select(PackedSolution.PackageId).Order().ToArray();
        Assert.Equal(ids, symbols);
    }

    [Fact]
    public void FusionCarriesTheRuntimeTheKernelsTheGeneratorAndTheBuildSummary()
    {
        packed.Require();
        using var zip = ZipFile.OpenRead(packed.Package("Fusion"));
        var entries = zip.Entries.Select(e => e.FullName).ToHashSet();
        foreach (var expected in new[]
        {
            "lib/net10.0/Fusion.Runtime.dll", "lib/net10.0/Fusion.Kernels.dll", "analyzers/dotnet/cs/Fusion.Generator.dll",
            "build/Fusion.props", "build/Fusion.targets", "buildTransitive/Fusion.props", "buildTransitive/Fusion.targets",
            "PACKAGE.md", "LICENSE",
        })
        {
            Assert.Contains(expected, entries);
        }

        var nuspec = Nuspec(zip);
        XNamespace ns = nuspec.Root!.Name.Namespace;
        var metadata = nuspec.Root.Element(ns + "metadata")!;
        Assert.Equal("MIT", metadata.Element(ns + "license")?.Value);
        Assert.Equal("PACKAGE.md", metadata.Element(ns + "readme")?.Value);
        Assert.False(string.IsNullOrWhiteSpace(metadata.Element(ns + "version")?.Value));
        // Fusion.Kernels ships inside, never as a package nothing produces (NU1101 for users before).
        var dependencies = metadata.Descendants(ns + "dependency").Select(d => (string)d.Attribute("id")!).ToArray();
        Assert.DoesNotContain("Fusion.Kernels", dependencies);
        Assert.DoesNotContain("Fusion.Generator", dependencies);

        using var symbols = ZipFile.OpenRead(Path.ChangeExtension(packed.Package("Fusion"), ".snupkg"));
        var pdbs = symbols.Entries.Select(e => e.FullName).Where(n => n.EndsWith(".pdb", StringComparison.Ordinal)).ToArray();
        Assert.Contains("lib/net10.0/Fusion.Runtime.pdb", pdbs);
        Assert.Contains("lib/net10.0/Fusion.Kernels.pdb", pdbs);
    }

    [Fact]
    public void FusionRunIsADotnetTool()
    {
        packed.Require();
        using var zip = ZipFile.OpenRead(packed.Package("Fusion.Run"));
        var settings = zip.Entries.Single(e => e.FullName.EndsWith("/DotnetToolSettings.xml", StringComparison.Ordinal));
        using var stream = settings.Open();
        var command = XDocument.Load(stream).Descendants("Command").Single();
        Assert.Equal("fusion-run", (string?)command.Attribute("Name"));
        var nuspec = Nuspec(zip);
        Assert.Contains(nuspec.Descendants(), e => e.Name.LocalName == "packageType" && (string?)e.Attribute("name") == "DotnetTool");
    }

    private static XDocument Nuspec(ZipArchive zip)
    {
        using var stream = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
        return XDocument.Load(stream);
    }
}
