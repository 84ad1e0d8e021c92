namespace Fusion.Kernels.Cpu;

/// <summary>
/// The windows a convolution multiplies, read from a channels-last image [batch, <see cref="Height"/>, <see cref="Width"/>,
/// <see cref="Channels"/>] as its im2col matrix: row (b, oy, ox), column (ky, kx, c) at (ky·<see cref="Kernel"/> + kx)·C + c, reading
/// image[b, oy·stride − padding + ky·dilation, ox·stride − padding + kx·dilation, c], zero outside the image.
/// </summary>
public readonly record struct ConvolutionWindows(int Height, int Width, int Channels, int Kernel, int Stride, int Padding, int Dilation)
{
    public int OutHeight => (Height + 2 * Padding - Dilation * (Kernel - 1) - 1) / Stride + 1;

    public int OutWidth => (Width + 2 * Padding - Dilation * (Kernel - 1) - 1) / Stride + 1;

    /// <summary>Columns of the im2col matrix: the taps times the channels.</summary>
    public int Depth => Kernel * Kernel * Channels;

    /// <summary>Throws unless every size is positive, the padding not negative and the window fits the padded image.</summary>
    public void Check()
    {
        if (Height < 1 || Width < 1 || Channels < 1 || Kernel < 1 || Stride < 1 || Dilation < 1 || Padding < 0 || OutHeight < 1 || OutWidth < 1)
            throw new ArgumentException($"convolution windows {this}: sizes must be positive, the padding not negative and the window must fit the padded image");
    }

    /// <summary>
    /// Copies im2col rows [row0, row0 + rows) × columns [col0, col0 + count) into <paramref name="target"/> (rows of
    /// <paramref name="count"/>): per row, one copy per tap of the channels it covers, or zeros where the tap is outside the image.
    /// </summary>
    internal unsafe void Gather(float* image, int row0, int rows, int col0, int count, float* target)
    {
        int pixels = OutHeight * OutWidth;
        for (int r = 0; r < rows; r++)
        {
            int row = row0 + r, b = row / pixels, pixel = row - b * pixels, oy = pixel / OutWidth, ox = pixel - oy * OutWidth;
            int y0 = oy * Stride - Padding, x0 = ox * Stride - Padding;
            float* destination = target + (long)r * count;
            for (int col = col0, end = col0 + count; col < end;)
            {
                int tap = col / Channels, channel = col - tap * Channels, length = Math.Min(Channels - channel, end - col);
                int iy = y0 + tap / Kernel * Dilation, ix = x0 + tap % Kernel * Dilation;
                var into = new Span<float>(destination + (col - col0), length);
                if ((uint)iy < (uint)Height && (uint)ix < (uint)Width)
                    new ReadOnlySpan<float>(image + (((long)b * Height + iy) * Width + ix) * Channels + channel, length).CopyTo(into);
                else
                    into.Clear();
                col += length;
            }
        }
    }
}
