using System.Buffers.Binary;
using Fusion.Testing;

namespace Fusion.Imaging.Tests;

/// <summary>
/// The integer fields of a valid image file that its decoder trusts (chunk and segment lengths, dimensions,
/// offsets, counts), found by walking the container, so the fuzzer can rewrite them with boundary values.
/// </summary>
internal static class ImageFieldLocator
{
    public static IReadOnlyList<FuzzField> Fields(string format, byte[] file) => format switch
    {
        "png" => Png(file),
        "jpeg" => Jpeg(file),
        "bmp" => Bmp(),
        "gif" => Gif(file),
        "webp" => Webp(file),
        "tiff" => Tiff(file),
        _ => [], // Netpbm headers are text: the fuzzer's number replacement reaches them
    };

    private static FuzzField BigEndian(int offset, int size) => new(offset, size, BigEndian: true);

    private static FuzzField LittleEndian(int offset, int size) => new(offset, size, BigEndian: false);

    /// <summary>Each chunk's length; IHDR's width and height (whose CRC then fails, which is a rule too).</summary>
    private static List<FuzzField> Png(byte[] file)
    {
        var fields = new List<FuzzField>();
        for (int pos = 8; pos + 12 <= file.Length; pos += 12 + BinaryPrimitives.ReadInt32BigEndian(file.AsSpan(pos)))
        {
            fields.Add(BigEndian(pos, 4));
            if (file.AsSpan(pos + 4, 4).SequenceEqual("IHDR"u8)) fields.AddRange([BigEndian(pos + 8, 4), BigEndian(pos + 12, 4)]);
        }
        return fields;
    }

    /// <summary>Each marker segment's length up to the scan; the frame header's height, width and component count.</summary>
    private static List<FuzzField> Jpeg(byte[] file)
    {
        var fields = new List<FuzzField>();
        for (int pos = 2; pos + 4 <= file.Length && file[pos] == 0xFF;)
        {
            byte marker = file[pos + 1];
            fields.Add(BigEndian(pos + 2, 2));
            if (marker is >= 0xC0 and <= 0xCF and not (0xC4 or 0xC8 or 0xCC))
                fields.AddRange([BigEndian(pos + 5, 2), BigEndian(pos + 7, 2), BigEndian(pos + 9, 1)]);
            if (marker == 0xDA) break;
            pos += 2 + BinaryPrimitives.ReadUInt16BigEndian(file.AsSpan(pos + 2));
        }
        return fields;
    }

    /// <summary>File size, pixel offset, header size, width, height, planes, bits per pixel, compression, image size, colours used.</summary>
    private static List<FuzzField> Bmp() =>
        [LittleEndian(2, 4), LittleEndian(10, 4), LittleEndian(14, 4), LittleEndian(18, 4), LittleEndian(22, 4),
         LittleEndian(26, 2), LittleEndian(28, 2), LittleEndian(30, 4), LittleEndian(34, 4), LittleEndian(46, 4)];

    /// <summary>The logical screen, each image descriptor's position and size, code sizes and sub-block lengths (the first 16).</summary>
    private static List<FuzzField> Gif(byte[] file)
    {
        var fields = new List<FuzzField> { LittleEndian(6, 2), LittleEndian(8, 2), LittleEndian(10, 1) };
        int pos = 13 + ColorTableBytes(file[10]);
        int subBlocks = 0;
        void SkipSubBlocks()
        {
            while (pos < file.Length && file[pos] != 0)
            {
                if (subBlocks++ < 16) fields.Add(LittleEndian(pos, 1));
                pos += 1 + file[pos];
            }
            pos++;
        }
        while (pos < file.Length && file[pos] != 0x3B)
        {
            if (file[pos] == 0x21) // extension: introducer, label, sub-blocks
            {
                pos += 2;
                SkipSubBlocks();
                continue;
            }
            if (file[pos] != 0x2C || pos + 11 > file.Length) break;
            for (int field = 1; field < 9; field += 2) fields.Add(LittleEndian(pos + field, 2));
            fields.Add(LittleEndian(pos + 9, 1));
            pos += 10 + ColorTableBytes(file[pos + 9]);
            fields.Add(LittleEndian(pos, 1)); // LZW minimum code size
            pos++;
            SkipSubBlocks();
        }
        return fields;
    }

    private static int ColorTableBytes(byte packed) => (packed & 0x80) != 0 ? 3 << ((packed & 7) + 1) : 0;

    /// <summary>The RIFF size; each chunk's size; VP8X canvas size, VP8 frame size, VP8L packed size.</summary>
    private static List<FuzzField> Webp(byte[] file)
    {
        var fields = new List<FuzzField> { LittleEndian(4, 4) };
        for (int pos = 12; pos + 8 <= file.Length;)
        {
            fields.Add(LittleEndian(pos + 4, 4));
            var fourCc = file.AsSpan(pos, 4);
            if (fourCc.SequenceEqual("VP8X"u8)) fields.AddRange([LittleEndian(pos + 12, 3), LittleEndian(pos + 15, 3)]);
            else if (fourCc.SequenceEqual("VP8 "u8)) fields.AddRange([LittleEndian(pos + 8, 3), LittleEndian(pos + 14, 2), LittleEndian(pos + 16, 2)]);
            else if (fourCc.SequenceEqual("VP8L"u8)) fields.Add(LittleEndian(pos + 9, 4));
            int size = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(pos + 4));
            pos += 8 + size + (size & 1);
        }
        return fields;
    }

    /// <summary>The first IFD's offset and entry count, and each entry's type, count and value or offset.</summary>
    private static List<FuzzField> Tiff(byte[] file)
    {
        bool bigEndian = file[0] == 'M';
        FuzzField Field(int offset, int size) => new(offset, size, bigEndian);
        int ifd = bigEndian ? BinaryPrimitives.ReadInt32BigEndian(file.AsSpan(4)) : BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(4));
        var fields = new List<FuzzField> { Field(4, 4), Field(ifd, 2) };
        int count = bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(file.AsSpan(ifd)) : BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(ifd));
        for (int entry = ifd + 2; entry < ifd + 2 + 12 * count && entry + 12 <= file.Length; entry += 12)
            fields.AddRange([Field(entry + 2, 2), Field(entry + 4, 4), Field(entry + 8, 4), Field(entry + 8, 2)]); // a SHORT value sits in the first 2 bytes
        return fields;
    }
}
