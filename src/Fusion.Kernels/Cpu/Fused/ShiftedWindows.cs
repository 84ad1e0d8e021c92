namespace Fusion.Kernels.Cpu.Fused;

/// <summary>
/// Index maps between a batch of channels-last images [B, H, W, C] and their shifted windows
/// [B·nW, w², C], as rows of C: the partition side rolls by −shift, the reverse side by +shift,
/// so <see cref="PixelOfToken"/> and <see cref="TokenOfPixel"/> are inverses.
/// </summary>
internal readonly struct ShiftedWindows
{
    private readonly int _height, _width, _window, _shift, _tokens, _colsOfWindows, _windowsPerImage;

    public ShiftedWindows(int batch, int height, int width, int channels, int window, int shift)
    {
        FusedChecks.Positive(batch, nameof(batch));
        FusedChecks.Positive(height, nameof(height));
        FusedChecks.Positive(width, nameof(width));
        FusedChecks.Positive(channels, nameof(channels));
        FusedChecks.Positive(window, nameof(window));
        if (height % window != 0 || width % window != 0)
            throw new ArgumentException($"height {height} and width {width} must be multiples of the window {window}");
        _height = height;
        _width = width;
        _window = window;
        _shift = shift;
        _tokens = window * window;
        _colsOfWindows = width / window;
        _windowsPerImage = height / window * _colsOfWindows;
        Rows = checked(batch * height * width);
    }

    /// <summary>Rows of C on either side: B·H·W pixels, which are also B·nW·w² window tokens.</summary>
    public int Rows { get; }

    /// <summary>
    /// The pixel row that window-order row <paramref name="token"/> holds after roll(−shift):
    /// token t of window (b, wr, wc) is pixel (b, (wr·w + t/w + s) mod H, (wc·w + t%w + s) mod W).
    /// </summary>
    public int PixelOfToken(int token)
    {
        int win = token / _tokens, t = token % _tokens;
        int b = win / _windowsPerImage, inImage = win % _windowsPerImage;
        int row = Mod(inImage / _colsOfWindows * _window + t / _window + _shift, _height);
        int col = Mod(inImage % _colsOfWindows * _window + t % _window + _shift, _width);
        return (b * _height + row) * _width + col;
    }

    /// <summary>The window-order row that pixel row <paramref name="pixel"/> (b, i, j) receives after roll(+shift): the token at ((i − s) mod H, (j − s) mod W).</summary>
    public int TokenOfPixel(int pixel)
    {
        int b = pixel / (_height * _width), inImage = pixel % (_height * _width);
        int row = Mod(inImage / _width - _shift, _height);
        int col = Mod(inImage % _width - _shift, _width);
        int win = (b * _windowsPerImage) + row / _window * _colsOfWindows + col / _window;
        return win * _tokens + row % _window * _window + col % _window;
    }

    private static int Mod(int value, int n)
    {
        int r = value % n;
        return r < 0 ? r + n : r;
    }
}
