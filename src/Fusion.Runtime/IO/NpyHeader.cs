namespace Fusion.IO;

/// <summary>The validated header of a .npy file: a supported dtype, C order and a shape whose byte size fits in 64 bits.</summary>
internal sealed record NpyHeader(NpyDescr Descr, int[] Shape, long ByteCount)
{
    private static readonly string[] Keys = ["descr", "fortran_order", "shape"];

    public static NpyHeader Parse(string path, string text)
    {
        var dict = PythonLiteralParser.ParseDict(path, text);
        if (dict.Count != Keys.Length || !Keys.All(dict.ContainsKey))
            throw new NpyFormatException(path, $"header keys must be exactly descr, fortran_order and shape, found {string.Join(", ", dict.Keys)}");

        if (dict["descr"] is not string descrText)
            throw new NpyFormatException(path, "descr must be a string (structured dtypes are not supported)");
        var descr = NpyDescr.Parse(path, descrText);

        switch (dict["fortran_order"])
        {
            case false: break;
            case true: throw new NpyFormatException(path, "fortran_order is True; only C-order arrays are supported");
            default: throw new NpyFormatException(path, "fortran_order must be True or False");
        }

        if (dict["shape"] is not PythonSequence { IsTuple: true } tuple)
            throw new NpyFormatException(path, "shape must be a tuple of integers");
        var shape = new int[tuple.Items.Count];
        long bytes = descr.ItemSize;
        for (int i = 0; i < shape.Length; i++)
        {
            if (tuple.Items[i] is not long dim)
                throw new NpyFormatException(path, $"shape dimension {i} must be an integer");
            if (dim is < 0 or > int.MaxValue)
                throw new NpyFormatException(path, $"shape dimension {i} ({dim}) must be between 0 and {int.MaxValue}");
            try { bytes = checked(bytes * dim); }
            catch (OverflowException) { throw new NpyFormatException(path, $"shape ({string.Join(", ", tuple.Items)}) of '{descrText}' has more bytes than fit in 64 bits"); }
            shape[i] = (int)dim;
        }
        return new NpyHeader(descr, shape, bytes);
    }
}
