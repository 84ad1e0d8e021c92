namespace Fusion.Runtime.Tests.IO;

/// <summary>Base of the file-format tests: each test gets its own temporary directory, deleted afterwards.</summary>
public abstract class TempDirectoryTest : IDisposable
{
    internal TempDirectory Dir { get; } = new();

    public void Dispose()
    {
        Dir.Dispose();
        GC.SuppressFinalize(this);
    }
}
