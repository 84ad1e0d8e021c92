using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Fusion.IO;

/// <summary>
/// An open safetensors file whose header has been fully validated. Tensor data is read on demand
/// with positional reads, so a large file is never held in memory twice. Dispose to close the file.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    private readonly SafeFileHandle _handle;
    private readonly long _dataStart;
    private readonly Dictionary<string, SafetensorsTensorInfo> _byName;

    private SafetensorsFile(string path, SafeFileHandle handle, long dataStart,
        IReadOnlyList<SafetensorsTensorInfo> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        _handle = handle;
        _dataStart = dataStart;
        Tensors = tensors;
        Metadata = metadata;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    public string Path { get; }

    /// <summary>The tensors in header order.</summary>
    public IReadOnlyList<SafetensorsTensorInfo> Tensors { get; }

    /// <summary>The optional <c>__metadata__</c> map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Opens <paramref name="path"/> and validates its header against the file's size.</summary>
    public static SafetensorsFile Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new WeightFileException(path, null, $"cannot open the file ({e.Message})", e);
        }

        try
        {
            long fileLength = RandomAccess.GetLength(handle);
            if (fileLength < 8)
                throw new WeightFileException(path, null, $"file is {fileLength} bytes, shorter than the 8-byte header length");
            Span<byte> prefix = stackalloc byte[8];
            ReadExactly(path, null, handle, prefix, 0);
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (headerLength > SafetensorsHeader.MaxHeaderBytes)
                throw new WeightFileException(path, null, $"header length {headerLength} exceeds the limit of {SafetensorsHeader.MaxHeaderBytes} bytes");
            if ((long)headerLength > fileLength - 8)
                throw new WeightFileException(path, null, $"header length {headerLength} runs past the end of the file ({fileLength} bytes)");

            var header = new byte[headerLength];
            ReadExactly(path, null, handle, header, 8);
            long dataStart = 8 + (long)headerLength;
            var (tensors, metadata) = SafetensorsHeader.Parse(path, header, fileLength - dataStart);
            return new SafetensorsFile(path, handle, dataStart, tensors, metadata);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>The tensor called <paramref name="name"/>; throws naming the file when there is none.</summary>
    public SafetensorsTensorInfo this[string name] =>
        _byName.TryGetValue(name, out var info) ? info : throw new WeightFileException(Path, name, "no such tensor in the file");

    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>The tensor's values as float32, converted from F32, F16 or BF16.</summary>
    public float[] ReadFloat32(string name)
    {
        var info = this[name];
        if (info.ElementCount > Array.MaxLength)
            throw new WeightFileException(Path, name, $"{info.ElementCount} elements exceed the largest array .NET can allocate");
        var values = new float[info.ElementCount];
        ReadInto(name, values);
        return values;
    }

    /// <summary>Reads the tensor into <paramref name="destination"/>, which must hold exactly its element count.</summary>
    public void ReadInto(string name, Span<float> destination)
    {
        var info = this[name];
        if (!info.DType.IsConvertibleToFloat32())
            throw new WeightFileException(Path, name, $"dtype {info.DType} cannot be converted to float32 (only F32, F16 and BF16)");
        if (destination.Length != info.ElementCount)
            throw new WeightFileException(Path, name, $"destination holds {destination.Length} elements, the tensor {info.ElementCount}");

        if (info.DType == SafetensorsDType.F32 && BitConverter.IsLittleEndian)
        {
            ReadExactly(Path, name, _handle, MemoryMarshal.AsBytes(destination), _dataStart + info.DataBegin);
            return;
        }

        // Converting formats are read in chunks, so no second full-size buffer is needed.
        int elementSize = info.DType.SizeInBytes();
        var chunk = new byte[Math.Min(info.ByteCount, 1 << 16)];
        long offset = _dataStart + info.DataBegin;
        for (int done = 0; done < destination.Length;)
        {
            int count = Math.Min(destination.Length - done, chunk.Length / elementSize);
            var bytes = chunk.AsSpan(0, count * elementSize);
            ReadExactly(Path, name, _handle, bytes, offset);
            ElementConversion.ToFloat32(info.DType, bytes, destination.Slice(done, count));
            offset += bytes.Length;
            done += count;
        }
    }

    /// <summary>The tensor's raw little-endian bytes, whatever its dtype.</summary>
    public byte[] ReadBytes(string name)
    {
        var info = this[name];
        if (info.ByteCount > Array.MaxLength)
            throw new WeightFileException(Path, name, $"{info.ByteCount} bytes exceed the largest array .NET can allocate");
        var bytes = new byte[info.ByteCount];
        ReadExactly(Path, name, _handle, bytes, _dataStart + info.DataBegin);
        return bytes;
    }

    public void Dispose() => _handle.Dispose();

    private static void ReadExactly(string path, string? tensor, SafeFileHandle handle, Span<byte> buffer, long offset)
    {
        try
        {
            while (buffer.Length > 0)
            {
                int read = RandomAccess.Read(handle, buffer, offset);
                // The size was checked at open; a short read means the file shrank since.
                if (read == 0)
                    throw new WeightFileException(path, tensor, $"file ended at byte {offset} while reading (was it truncated after opening?)");
                buffer = buffer[read..];
                offset += read;
            }
        }
        catch (IOException e)
        {
            throw new WeightFileException(path, tensor, $"cannot read the file ({e.Message})", e);
        }
    }
}
