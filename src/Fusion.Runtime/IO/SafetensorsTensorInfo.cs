namespace Fusion.IO;

/// <summary>One tensor of a safetensors file, validated: its shape and byte range fit the file and agree with each other.</summary>
public sealed record SafetensorsTensorInfo(string Name, SafetensorsDType DType, Shape Shape, long DataBegin, long DataEnd)
{
    /// <summary>Number of bytes of the tensor's data.</summary>
    public long ByteCount => DataEnd - DataBegin;

    public long ElementCount => Shape.ElementCount;
}
