using System.Collections.Concurrent;

namespace Fusion.Cuda;

/// <summary>
/// The names of the kernels this process launched, each once, appended to the file FUSION_LAUNCH_LOG names (unset: off,
/// and a launch pays one volatile read). scripts/sanitize.sh reads it to know which kernels compute-sanitizer saw run
/// and which of the kernels it reports on are Fusion's (cuBLASLt's are never launched through here).
/// </summary>
public static class LaunchLog
{
    private static readonly ConcurrentDictionary<string, byte> s_seen = new(StringComparer.Ordinal);
    private static readonly object s_write = new();
    private static volatile string? s_path = Environment.GetEnvironmentVariable("FUSION_LAUNCH_LOG") is { Length: > 0 } p ? p : null;

    /// <summary>Where names go now (null: off).</summary>
    public static string? Path => s_path;

    /// <summary>Starts logging to <paramref name="path"/> (tests; processes use FUSION_LAUNCH_LOG); names already seen are written again.</summary>
    public static void Start(string path)
    {
        lock (s_write)
        {
            s_seen.Clear();
            s_path = path;
        }
    }

    /// <summary>Stops logging.</summary>
    public static void Stop()
    {
        lock (s_write) s_path = null;
    }

    internal static void Launched(string kernel)
    {
        if (s_path is null || !s_seen.TryAdd(kernel, 0)) return;
        lock (s_write)
        {
            if (s_path is { } path) File.AppendAllText(path, kernel + "\n");
        }
    }
}
