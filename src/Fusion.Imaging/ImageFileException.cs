namespace Fusion.Imaging;

/// <summary>
/// An image file could not be used: missing or unreadable, not an image, corrupt or truncated, or declaring
/// dimensions above <see cref="ImageLimits"/>. The only exception image loading lets out; the decoder's own
/// exceptions travel as <see cref="Exception.InnerException"/>.
/// </summary>
public sealed class ImageFileException(string path, string rule, Exception? inner = null)
    : FusionException($"{path}: {rule}", inner!) // Exception takes a null inner exception as "none"
{
    /// <summary>The file at fault.</summary>
    public string Path { get; } = path;

    /// <summary>The rule that was broken, without the file name.</summary>
    public string Rule { get; } = rule;
}
