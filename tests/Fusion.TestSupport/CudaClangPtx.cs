using System.Diagnostics;
using Fusion.Kernels;
using Xunit;

namespace Fusion.Testing;

/// <summary>clang++ could not compile a CUDA source to PTX; carries clang's diagnostics.</summary>
public sealed class ClangPtxException(string name, string arch, string diagnostics)
    : Exception($"clang could not compile '{name}' for {arch}:\n{diagnostics}")
{
    public string Diagnostics { get; } = diagnostics;
}

/// <summary>
/// Compiles CUDA C to PTX with Debian's clang-19, no CUDA toolkit needed: the CI check that every
/// kernel the project ships or generates at least compiles for sm_80 and sm_90. A small shim
/// supplies the CUDA keywords and built-in variables that the toolkit headers normally define.
/// </summary>
public static class ClangPtx
{
    /// <summary>
    /// What the CUDA headers would have defined; clang's own builtin-vars header gives threadIdx and friends. clang learnt
    /// <c>__grid_constant__</c> in version 20, so here it is dropped: the kernel then copies such a parameter before taking its address,
    /// which NVRTC does not; the PTX still shows every instruction the checks look for.
    /// </summary>
    public const string Shim = """
        #include <__clang_cuda_builtin_vars.h>
        #define __global__ __attribute__((global))
        #define __device__ __attribute__((device))
        #define __shared__ __attribute__((shared))
        #define __forceinline__ __inline__ __attribute__((always_inline))
        #define __align__(n) __attribute__((aligned(n)))
        #define __launch_bounds__(...) __attribute__((launch_bounds(__VA_ARGS__)))
        #define __grid_constant__
        """;

    public static bool IsRequired => Environment.GetEnvironmentVariable("FUSION_REQUIRE_CLANG") == "1";

    /// <summary>$FUSION_CLANG, else clang++-19 on PATH; null if neither exists.</summary>
    public static string? FindCompiler()
    {
        var explicitPath = Environment.GetEnvironmentVariable("FUSION_CLANG");
        if (!string.IsNullOrWhiteSpace(explicitPath)) return File.Exists(explicitPath) ? explicitPath : null;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            if (dir.Length == 0) continue;
            var candidate = Path.Combine(dir, "clang++-19");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>The compiler's path, or a visible skip (a failure when FUSION_REQUIRE_CLANG=1).</summary>
    public static string RequireCompiler()
    {
        var clang = FindCompiler();
        if (clang is not null) return clang;
        const string why = "clang++-19 is not installed (apt-get install -y clang-19, or set FUSION_CLANG)";
        if (IsRequired) Assert.Fail($"FUSION_REQUIRE_CLANG=1 but {why}");
        VisibleSkip.Because("no clang++-19 for the PTX checks", why, "set FUSION_REQUIRE_CLANG=1 to fail instead");
        return "";
    }

    /// <summary>
    /// Compiles <paramref name="source"/> for <paramref name="arch"/> (sm_80, sm_90, …) and returns the PTX.
    /// The shipped headers (prelude.cuh, …) are available to #include, plus any in <paramref name="headers"/>.
    /// </summary>
    public static string Compile(string source, string arch, string name = "kernel", IReadOnlyDictionary<string, string>? headers = null)
    {
        var clang = FindCompiler() ?? throw new InvalidOperationException("clang++-19 not found");
        var dir = Directory.CreateTempSubdirectory("fusion-ptx-");
        try
        {
            foreach (var (file, text) in KernelSources.Headers.Concat(headers ?? new Dictionary<string, string>()))
                File.WriteAllText(Path.Combine(dir.FullName, file), text);
            File.WriteAllText(Path.Combine(dir.FullName, "fusion_clang_shim.h"), Shim);
            var input = Path.Combine(dir.FullName, name + ".cu");
            var output = Path.Combine(dir.FullName, name + ".ptx");
            File.WriteAllText(input, source);
            var psi = new ProcessStartInfo(clang)
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                WorkingDirectory = dir.FullName,
            };
            foreach (var a in new[] { "-x", "cuda", "--cuda-device-only", "-nocudainc", "-nocudalib", $"--cuda-gpu-arch={arch}", "-O2", "-S",
                         "-Werror", "-include", "fusion_clang_shim.h", "-I", dir.FullName, "-o", output, input })
                psi.ArgumentList.Add(a);
            using var process = Process.Start(psi)!;
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEndAsync();
            if (!process.WaitForExit(120_000))
            {
                process.Kill(entireProcessTree: true);
                throw new ClangPtxException(name, arch, "clang timed out after 120 s");
            }
            if (process.ExitCode != 0) throw new ClangPtxException(name, arch, stderr.Result + stdout.Result);
            return File.ReadAllText(output);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
