namespace Fusion.IO;

/// <summary>
/// Writes a file through a temporary sibling and a rename, so readers never see a half-written
/// file and a failed write leaves the old file (possibly the writer's own input) intact.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Returns false, writing nothing, when the file exists and <paramref name="overwrite"/> is false.</summary>
    public static bool Write(string path, bool overwrite, Action<Stream> write)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!overwrite && File.Exists(full)) return false;
        var temp = full + $".{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            try
            {
                File.Move(temp, full, overwrite);
            }
            catch (IOException) when (!overwrite && File.Exists(full))
            {
                return false; // created by someone else between the check and the rename
            }
            return true;
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
