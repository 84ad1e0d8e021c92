using System.Security.Cryptography;
using System.Text;

namespace Fusion.Cuda;

/// <summary>
/// An on-disk cache of compiled kernel binaries. Entries are named by a SHA-256 key of everything
/// that affects the binary (source, headers, options, architecture, compiler version) and carry a
/// checksum of their payload. Writes go to a unique temporary file that is then renamed over the
/// entry, so readers never see a partial file and concurrent writers of the same key both succeed.
/// A corrupt or truncated entry is deleted and rebuilt; an unusable directory means running uncached.
/// </summary>
public sealed class KernelCache
{
    private static readonly byte[] s_magic = "FUSIONK1"u8.ToArray();
    private const int HeaderSize = 8 + 8 + 32; // magic, payload length, SHA-256 of payload
    private readonly Action<string> _warn;
    private volatile bool _disabled;

    public KernelCache(string? directory = null, Action<string>? warn = null)
    {
        Directory = directory ?? DefaultDirectory();
        _warn = warn ?? (m => Console.Error.WriteLine($"fusion: warning: {m}"));
    }

    public string Directory { get; }

    /// <summary>False once the directory proved unusable; the cache then only builds.</summary>
    public bool IsEnabled => !_disabled;

    /// <summary>$FUSION_KERNEL_CACHE, else $XDG_CACHE_HOME/fusion/kernels, else ~/.cache/fusion/kernels.</summary>
    public static string DefaultDirectory()
    {
        var explicitDir = Environment.GetEnvironmentVariable("FUSION_KERNEL_CACHE");
        if (!string.IsNullOrWhiteSpace(explicitDir)) return explicitDir;
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var root = !string.IsNullOrWhiteSpace(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(root, "fusion", "kernels");
    }

    /// <summary>A hex SHA-256 over the parts, each length-prefixed so that no two part lists collide.</summary>
    public static string Key(params string[] parts)
    {
        var sb = new StringBuilder();
        foreach (var p in parts) sb.Append(p.Length).Append(':').Append(p).Append('\n');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    /// <summary>The file that holds entry <paramref name="key"/> of kernel <paramref name="name"/>.</summary>
    public string PathFor(string name, string key) => Path.Combine(Directory, $"{Sanitize(name)}-{key[..32]}.cubin");

    /// <summary>Returns the cached binary for the key, or builds and stores it.</summary>
    public byte[] GetOrAdd(string name, string key, Func<byte[]> build, out KernelCacheOutcome outcome)
    {
        if (_disabled)
        {
            outcome = KernelCacheOutcome.Uncached;
            return build();
        }
        var path = PathFor(name, key);
        var cached = TryRead(path, out var problem);
        if (cached is not null)
        {
            outcome = KernelCacheOutcome.Hit;
            return cached;
        }
        if (problem is not null) Invalidate(path, problem);
        var built = build();
        outcome = Store(path, built) ? (problem is null ? KernelCacheOutcome.Miss : KernelCacheOutcome.Rebuilt) : KernelCacheOutcome.Uncached;
        return built;
    }

    /// <summary>
    /// Every entry of the folder read back as <see cref="GetOrAdd"/> would read it: the file and, when it would be
    /// rebuilt, why (null when sound). Files left by an interrupted write (*.tmp) are listed as problems too.
    /// </summary>
    public IReadOnlyList<(string File, string? Problem)> Verify()
    {
        if (!System.IO.Directory.Exists(Directory)) return [];
        var entries = System.IO.Directory.GetFiles(Directory, "*.cubin").Order(StringComparer.Ordinal)
            .Select(f => (f, TryRead(f, out var problem) is null ? problem ?? "missing" : null)).ToList();
        entries.AddRange(System.IO.Directory.GetFiles(Directory, "*.tmp").Select(f => (f, (string?)"a temporary file left behind")));
        return entries;
    }

    /// <summary>Replaces an entry whose binary turned out unusable (e.g. the driver refused to load it).</summary>
    public KernelCacheOutcome Replace(string name, string key, string reason, byte[] rebuilt)
    {
        var path = PathFor(name, key);
        Invalidate(path, reason);
        return Store(path, rebuilt) ? KernelCacheOutcome.Rebuilt : KernelCacheOutcome.Uncached;
    }

    private void Invalidate(string path, string reason)
    {
        _warn($"kernel cache entry {path} is {reason}; deleted, rebuilding");
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The rename in Store replaces it anyway.
        }
    }

    /// <summary>The payload, or null with <paramref name="problem"/> saying why an existing file is unusable (null when absent).</summary>
    private static byte[]? TryRead(string path, out string? problem)
    {
        problem = null;
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = $"unreadable ({e.Message})";
            return null;
        }
        if (data.Length < HeaderSize || !data.AsSpan(0, 8).SequenceEqual(s_magic))
        {
            problem = "corrupt (bad header)";
            return null;
        }
        long length = BitConverter.ToInt64(data, 8);
        if (length != data.Length - HeaderSize)
        {
            problem = $"truncated ({data.Length - HeaderSize} of {length} payload bytes)";
            return null;
        }
        var payload = data.AsSpan(HeaderSize).ToArray();
        if (!SHA256.HashData(payload).AsSpan().SequenceEqual(data.AsSpan(16, 32)))
        {
            problem = "corrupt (checksum mismatch)";
            return null;
        }
        return payload;
    }

    private bool Store(string path, byte[] payload)
    {
        var temp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            using (var f = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                f.Write(s_magic);
                f.Write(BitConverter.GetBytes((long)payload.Length));
                f.Write(SHA256.HashData(payload));
                f.Write(payload);
                f.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true); // atomic rename: a reader sees the old entry or the new one
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            if (!_disabled)
            {
                _disabled = true;
                _warn($"kernel cache directory {Directory} is not writable ({e.Message}); running uncached");
            }
            return false;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private static string Sanitize(string name) => string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' ? c : '_'));
}
