using System.Reflection;
using System.Runtime.InteropServices;

namespace Fusion.Cuda.Native;

/// <summary>
/// Resolves the logical library names used by the bindings ("cuda", "nvrtc", "cublasLt") to the
/// versioned sonames a machine actually has. .NET allows one resolver per assembly, so every
/// binding in Fusion.Runtime goes through this one; it is installed by a module initializer.
/// </summary>
internal static class CudaLibraryResolver
{
    internal const string Driver = "cuda";
    internal const string Nvrtc = "nvrtc";
    internal const string CublasLt = "cublasLt";

    private static readonly Dictionary<string, string[]> s_candidates = new()
    {
        [Driver] = ["libcuda.so.1", "libcuda.so"],
        [Nvrtc] = ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"],
        [CublasLt] = ["libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"],
    };

    private static readonly Dictionary<string, IntPtr> s_loaded = new();
    private static readonly object s_lock = new();

#pragma warning disable CA2255 // a module initializer is the one place guaranteed to run before any P/Invoke
    [System.Runtime.CompilerServices.ModuleInitializer]
#pragma warning restore CA2255
    internal static void Install()
    {
        NativeLibrary.SetDllImportResolver(typeof(CudaLibraryResolver).Assembly, Resolve);
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (!s_candidates.ContainsKey(name)) return IntPtr.Zero; // not ours: default probing
        return TryLoad(name, out var handle, out _) ? handle : IntPtr.Zero;
    }

    /// <summary>Loads <paramref name="logicalName"/> or throws naming the library and every path tried.</summary>
    internal static IntPtr Load(string logicalName)
    {
        if (TryLoad(logicalName, out var handle, out var tried)) return handle;
        throw new CudaLibraryNotFoundException(logicalName, tried);
    }

    /// <summary>True when the library loads; <paramref name="tried"/> lists each file or path attempted.</summary>
    internal static bool TryLoad(string logicalName, out IntPtr handle, out IReadOnlyList<string> tried)
    {
        if (!s_candidates.TryGetValue(logicalName, out var sonames))
            throw new ArgumentException($"unknown CUDA library '{logicalName}'", nameof(logicalName));
        lock (s_lock)
        {
            var attempts = new List<string>();
            tried = attempts;
            if (s_loaded.TryGetValue(logicalName, out handle)) return true;
            foreach (var path in CandidatePaths(sonames))
            {
                attempts.Add(path);
                if (NativeLibrary.TryLoad(path, out handle))
                {
                    s_loaded[logicalName] = handle;
                    return true;
                }
            }
            handle = IntPtr.Zero;
            return false;
        }
    }

    /// <summary>Bare sonames first (the system loader's own search: ld.so.cache, LD_LIBRARY_PATH), then the usual install folders.</summary>
    internal static IEnumerable<string> CandidatePaths(IReadOnlyList<string> sonames)
    {
        foreach (var so in sonames) yield return so;
        foreach (var dir in SearchDirectories())
        {
            foreach (var so in sonames) yield return Path.Combine(dir, so);
        }
    }

    internal static IReadOnlyList<string> SearchDirectories()
    {
        var dirs = new List<string>();
        void Add(string? d)
        {
            if (!string.IsNullOrWhiteSpace(d) && !dirs.Contains(d)) dirs.Add(d);
        }
        foreach (var d in (Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "").Split(':')) Add(d);
        foreach (var root in new[] { Environment.GetEnvironmentVariable("CUDA_PATH"), Environment.GetEnvironmentVariable("CUDA_HOME") })
        {
            if (string.IsNullOrWhiteSpace(root)) continue;
            Add(Path.Combine(root, "lib64"));
            Add(Path.Combine(root, "targets", "x86_64-linux", "lib"));
        }
        Add("/usr/local/cuda/lib64");
        Add("/usr/local/cuda/targets/x86_64-linux/lib");
        Add("/usr/local/nvidia/lib64");
        Add("/usr/lib/x86_64-linux-gnu");
        Add("/usr/lib/wsl/lib");
        return dirs;
    }
}
