namespace Fusion;

/// <summary>
/// Where a window attention's x comes from when its norm prologue runs in the attention's kernel (the generator's
/// <c>NormQkvAttentionPairs</c>): LayerNorm (<see cref="Eps"/>) over the last axis of an image [B, <see cref="Height"/>,
/// <see cref="Width"/>, C], rolled by <see cref="Shift"/> along H and W (torch.roll: out[i] = x[(i − shift) mod n]), cut into
/// <see cref="Window"/> × <see cref="Window"/> windows, row-major over windows and over each window's tokens.
/// </summary>
public sealed record WindowNorm(float Eps, int Height, int Width, int Window, int Shift)
{
    /// <summary>Windows of one image.</summary>
    public int WindowsPerImage => Height / Window * (Width / Window);

    /// <summary>How far a window's row i reads ahead in the image: row (i + BackRows) mod Height, the roll undone.</summary>
    public int BackRows => Modulo(-Shift, Height);

    /// <summary>The same for columns.</summary>
    public int BackColumns => Modulo(-Shift, Width);

    /// <summary>Why this is not the geometry of a [B, H, W, C] <paramref name="image"/> in windows of <paramref name="tokens"/> tokens (an English reason), or null.</summary>
    public string? WhyNot(Shape image, int tokens)
    {
        if (Window <= 0 || Height <= 0 || Width <= 0 || Height % Window != 0 || Width % Window != 0)
            return $"a {Height}×{Width} image does not cut into {Window}×{Window} windows";
        if (Window * Window != tokens) return $"windows of {Window}×{Window} are not the attention's {tokens} tokens";
        if (image.Rank != 4 || image[1] != Height || image[2] != Width) return $"x {image} is not an image [B, {Height}, {Width}, C]";
        return null;
    }

    private static int Modulo(int value, int n) => n <= 0 ? 0 : ((value % n) + n) % n;
}
