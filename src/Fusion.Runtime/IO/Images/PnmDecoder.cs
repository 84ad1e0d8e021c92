namespace Fusion.IO;

/// <summary>
/// Netpbm greymaps and pixmaps: P2 and P3 (plain, decimal text) and P5 and P6 (raw, one byte a
/// sample, or two big-endian bytes when maxval exceeds 255), with '#' comments in the header.
/// Bytes after the raster are ignored, as Netpbm allows several images in one file.
/// </summary>
internal static class PnmDecoder
{
    public static RgbImage Decode(string path, byte[] data)
    {
        if (data.Length < 2 || data[0] != 'P')
            throw new ImageFormatException(path, "not a PPM or PGM file: it does not start with P2, P3, P5 or P6");
        char kind = (char)data[1];
        if (kind is '1' or '4' or '7')
            throw new ImageFormatException(path, $"Netpbm format P{kind} is not supported (P2, P3, P5 and P6 are)");
        if (kind is not ('2' or '3' or '5' or '6'))
            throw new ImageFormatException(path, "not a PPM or PGM file: it does not start with P2, P3, P5 or P6");

        int pos = 2;
        long width = ReadNumber(path, data, ref pos, "width");
        long height = ReadNumber(path, data, ref pos, "height");
        long maxValue = ReadNumber(path, data, ref pos, "maxval");
        ImageFile.CheckDimensions(path, width, height);
        if (maxValue is < 1 or > ushort.MaxValue)
            throw new ImageFormatException(path, $"maxval {maxValue} must be between 1 and {ushort.MaxValue}");

        int channels = kind is '3' or '6' ? 3 : 1;
        int pixelCount = (int)(width * height);
        var scale = SampleScale.Table((int)maxValue);
        var pixels = new float[3 * pixelCount];
        bool plain = kind is '2' or '3';
        int bytesPerSample = maxValue > byte.MaxValue ? 2 : 1;
        if (!plain)
        {
            // Exactly one whitespace byte separates maxval from the raster, which may start with any byte.
            if (pos >= data.Length || !IsWhitespace(data[pos]))
                throw new ImageFormatException(path, "maxval must be followed by a single whitespace byte before the raster");
            pos++;
            long needed = (long)pixelCount * channels * bytesPerSample;
            if (data.Length - pos < needed)
                throw new ImageFormatException(path, $"raster holds {data.Length - pos} bytes but {width}x{height} with {channels} channel(s) of maxval {maxValue} needs {needed} (file truncated)");
        }

        long sampleIndex = 0, sampleCount = (long)pixelCount * channels;
        for (int p = 0; p < pixelCount; p++)
        {
            for (int c = 0; c < channels; c++, sampleIndex++)
            {
                long sample;
                if (plain)
                {
                    sample = ReadNumber(path, data, ref pos, $"sample {sampleIndex} of {sampleCount}");
                }
                else
                {
                    sample = bytesPerSample == 1 ? data[pos] : (data[pos] << 8) | data[pos + 1];
                    pos += bytesPerSample;
                }
                if (sample > maxValue)
                    throw new ImageFormatException(path, $"sample {sampleIndex} is {sample}, above maxval {maxValue}");
                float value = scale[sample];
                if (channels == 3) pixels[3 * p + c] = value;
                else pixels[3 * p] = pixels[3 * p + 1] = pixels[3 * p + 2] = value;
            }
        }
        return new RgbImage((int)width, (int)height, pixels);
    }

    /// <summary>A decimal number after whitespace and comments, ending at whitespace, a comment or the end of the file.</summary>
    private static long ReadNumber(string path, byte[] data, ref int pos, string what)
    {
        while (pos < data.Length && (IsWhitespace(data[pos]) || data[pos] == '#'))
        {
            if (data[pos] == '#')
                while (pos < data.Length && data[pos] != '\n' && data[pos] != '\r') pos++;
            else pos++;
        }
        if (pos >= data.Length)
            throw new ImageFormatException(path, $"file ends before the {what} (truncated)");
        if (!char.IsAsciiDigit((char)data[pos]))
            throw new ImageFormatException(path, $"the {what} must be a decimal number, found '{(char)data[pos]}' at offset {pos}");
        long value = 0;
        while (pos < data.Length && char.IsAsciiDigit((char)data[pos]))
        {
            value = value * 10 + (data[pos++] - '0');
            if (value > int.MaxValue)
                throw new ImageFormatException(path, $"the {what} exceeds {int.MaxValue}");
        }
        if (pos < data.Length && !IsWhitespace(data[pos]) && data[pos] != '#')
            throw new ImageFormatException(path, $"the {what} must end at whitespace, found '{(char)data[pos]}' at offset {pos}");
        return value;
    }

    private static bool IsWhitespace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or 0x0B or 0x0C;
}
