namespace Fusion.Imaging;

/// <summary>
/// The length check of a Netpbm file (P1 to P6): its header gives width, height and maxval, which fix how many
/// samples follow: raw formats (P4, P5, P6) in bytes, plain ones (P1, P2, P3) as numbers (P1's digits may touch).
/// </summary>
internal static class NetpbmRaster
{
    /// <summary>Why <paramref name="data"/> holds fewer samples than its header promises, or null (also for a header the decoder will reject itself).</summary>
    public static string? Problem(ReadOnlySpan<byte> data)
    {
        if (data.Length < 2 || data[0] != 'P' || data[1] is < (byte)'1' or > (byte)'6') return null;
        char kind = (char)data[1];
        int pos = 2;
        bool bitmap = kind is '1' or '4';
        if (Number(data, ref pos) is not long width || Number(data, ref pos) is not long height) return "truncated Netpbm file: the header ends early";
        long maxValue = 1;
        if (!bitmap)
        {
            if (Number(data, ref pos) is not long max) return "truncated Netpbm file: the header ends early";
            maxValue = max;
        }
        long samples = width * height * (kind is '3' or '6' ? 3 : 1);

        if (kind is '1' or '2' or '3')
        {
            long found = 0;
            while (found < samples && (kind == '1' ? Bit(data, ref pos) : Number(data, ref pos) is not null)) found++;
            return found == samples ? null : $"truncated Netpbm file: the header promises {samples} samples, the file holds {found}";
        }
        long needed = pos + 1 + (kind == '4' ? (width + 7) / 8 * height : samples * (maxValue > 255 ? 2 : 1)); // one whitespace byte, then the raster
        return data.Length >= needed ? null : $"truncated Netpbm file: {width}x{height} needs {needed} bytes, the file holds {data.Length}";
    }

    /// <summary>The next decimal number after whitespace and '#' comments, or null at the end of the file or at anything else.</summary>
    private static long? Number(ReadOnlySpan<byte> data, ref int pos)
    {
        SkipSpaceAndComments(data, ref pos);
        if (pos >= data.Length || !char.IsAsciiDigit((char)data[pos])) return null;
        long value = 0;
        while (pos < data.Length && char.IsAsciiDigit((char)data[pos]) && value < int.MaxValue) value = value * 10 + (data[pos++] - '0');
        return value;
    }

    /// <summary>Whether a P1 pixel (one digit 0 or 1, separated or not) follows.</summary>
    private static bool Bit(ReadOnlySpan<byte> data, ref int pos)
    {
        SkipSpaceAndComments(data, ref pos);
        if (pos >= data.Length || data[pos] is not ((byte)'0' or (byte)'1')) return false;
        pos++;
        return true;
    }

    private static void SkipSpaceAndComments(ReadOnlySpan<byte> data, ref int pos)
    {
        while (pos < data.Length && (char.IsWhiteSpace((char)data[pos]) || data[pos] == '#'))
        {
            if (data[pos] == '#')
                while (pos < data.Length && data[pos] != '\n' && data[pos] != '\r') pos++;
            else pos++;
        }
    }
}
