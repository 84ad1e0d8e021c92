using System.Text.RegularExpressions;
using Fusion.Kernels;
using Fusion.Testing;

namespace Fusion.Cuda.Tests;

/// <summary>CI without a GPU: every shipped kernel must compile to PTX for sm_80 and sm_90 with clang-19.</summary>
public sealed partial class ClangPtxTests
{
    public static TheoryData<string, string> KernelsAndArchitectures()
    {
        var data = new TheoryData<string, string>();
        foreach (var name in KernelSources.Kernels.Keys)
        {
            data.Add(name, "sm_80");
            data.Add(name, "sm_90");
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(KernelsAndArchitectures))]
    public void ShippedKernelCompilesToPtx(string file, string arch)
    {
        ClangPtx.RequireCompiler();
        var source = KernelSources.Get(file);
        var ptx = ClangPtx.Compile(source, arch, Path.GetFileNameWithoutExtension(file));
        Assert.Contains($".target {arch}", ptx);
        foreach (Match m in KernelName().Matches(source))
            Assert.Contains($".entry {m.Groups[1].Value}(", ptx);
    }

    [Fact]
    public void BrokenKernelFailsWithDiagnostics()
    {
        ClangPtx.RequireCompiler();
        const string source = "#include \"prelude.cuh\"\nextern \"C\" __global__ void k(half* p) { p[0] = no_such_function(); }\n";
        var e = Assert.Throws<ClangPtxException>(() => ClangPtx.Compile(source, "sm_90", "broken"));
        Assert.Contains("no_such_function", e.Diagnostics);
    }

    [GeneratedRegex(@"extern ""C"" __global__ void (\w+)\(")]
    private static partial Regex KernelName();
}
