namespace Fusion.Cuda;

/// <summary>How <see cref="KernelCache.GetOrAdd"/> obtained a binary.</summary>
public enum KernelCacheOutcome
{
    /// <summary>Read from a valid cache entry.</summary>
    Hit,

    /// <summary>No entry: built and stored.</summary>
    Miss,

    /// <summary>The entry was corrupt, truncated or unloadable: deleted, rebuilt and stored again.</summary>
    Rebuilt,

    /// <summary>The cache directory is unusable: built and not stored.</summary>
    Uncached,
}
