namespace Fusion.Cuda;

/// <summary>
/// A tensor in device memory, drawn from its device's caching allocator for one stream (<see cref="Stream"/>: the device's
/// default stream unless made for another): the work that writes and reads it is expected on that stream, and its block goes
/// back to that stream's cache. Copies to and from the host run on that stream and complete before the call returns, so a
/// tensor made with <see cref="FromHost(CudaStream, CpuTensor)"/> may be read on any stream. Views (reshapes) share the block,
/// which goes back to the allocator when the last tensor using it is disposed, so a view and its source may be disposed in
/// any order.
/// </summary>
public sealed unsafe class CudaTensor : Tensor
{
    private static long s_live;
    private readonly SharedStorage<DeviceMemory> _block;

    private CudaTensor(CudaStream stream, Shape shape, DType dtype) : base(shape, dtype)
    {
        Owner = stream.Device;
        Stream = stream;
        _block = new SharedStorage<DeviceMemory>(Owner.Allocator.Allocate(SizeInBytes, stream), memory => memory.Dispose());
        Interlocked.Increment(ref s_live);
    }

    private CudaTensor(CudaTensor source, Shape shape) : base(shape, source.DType)
    {
        Owner = source.Owner;
        Stream = source.Stream;
        _block = source._block;
        _block.AddReference();
        Interlocked.Increment(ref s_live);
    }

    /// <summary>CUDA tensors created and not yet disposed (for leak tests).</summary>
    public static long LiveCount => Interlocked.Read(ref s_live);

    public override DeviceKind Device => DeviceKind.Cuda;

    /// <summary>The device that holds the memory.</summary>
    public CudaDevice Owner { get; }

    /// <summary>The stream the tensor's memory was handed out for; copies run on it.</summary>
    public CudaStream Stream { get; }

    /// <summary>The device address of the first element.</summary>
    public ulong Pointer
    {
        get
        {
            ThrowIfDisposed();
            return _block.Value.Pointer;
        }
    }

    /// <summary>An uninitialized tensor (contents are whatever the reused block held).</summary>
    public static CudaTensor Empty(CudaDevice device, DType dtype, Shape shape) => new(device.DefaultStream, shape, dtype);

    public static CudaTensor Empty(CudaDevice device, DType dtype, params int[] dims) => new(device.DefaultStream, new Shape(dims), dtype);

    /// <summary>An uninitialized tensor for work on <paramref name="stream"/>.</summary>
    public static CudaTensor Empty(CudaStream stream, DType dtype, Shape shape) => new(stream, shape, dtype);

    /// <summary>A device copy of <paramref name="host"/> (on the device's default stream).</summary>
    public static CudaTensor FromHost(CudaDevice device, CpuTensor host) => FromHost(device.DefaultStream, host);

    /// <summary>A device copy of <paramref name="host"/>, copied on <paramref name="stream"/> and complete when this returns.</summary>
    public static CudaTensor FromHost(CudaStream stream, CpuTensor host)
    {
        var t = new CudaTensor(stream, host.Shape, host.DType);
        try
        {
            t.CopyFromHost(host);
        }
        catch
        {
            t.Dispose();
            throw;
        }
        return t;
    }

    /// <summary>Overwrites this tensor with <paramref name="host"/>'s elements (same shape and dtype).</summary>
    public void CopyFromHost(CpuTensor host)
    {
        host.Expect("host source", Shape, DType);
        var stream = Stream;
        fixed (byte* src = host.Bytes)
        {
            Owner.MakeCurrent();
            CudaCheck.Driver(Native.CuDriverApi.cuMemcpyHtoDAsync_v2(Pointer, src, (nuint)SizeInBytes, stream.Handle), "cuMemcpyHtoDAsync_v2");
            stream.Synchronize(); // the pinned span must outlive the copy
        }
    }

    /// <summary>A new host tensor holding this tensor's elements.</summary>
    public CpuTensor ToHost()
    {
        var host = CpuTensor.Zeros(DType, Shape);
        var stream = Stream;
        fixed (byte* dst = host.Bytes)
        {
            Owner.MakeCurrent();
            CudaCheck.Driver(Native.CuDriverApi.cuMemcpyDtoHAsync_v2(dst, Pointer, (nuint)SizeInBytes, stream.Handle), "cuMemcpyDtoHAsync_v2");
            stream.Synchronize();
        }
        return host;
    }

    /// <summary>Copies <paramref name="source"/> (same shape and dtype) into this tensor on <paramref name="stream"/> (default: this tensor's).</summary>
    public void CopyFrom(CudaTensor source, CudaStream? stream = null)
    {
        source.Expect("device source", Shape, DType);
        Owner.MakeCurrent();
        CudaCheck.Driver(Native.CuDriverApi.cuMemcpyDtoDAsync_v2(Pointer, source.Pointer, (nuint)SizeInBytes, (stream ?? Stream).Handle),
            "cuMemcpyDtoDAsync_v2");
    }

    /// <summary>Sets every byte to <paramref name="value"/> (used to poison outputs before a kernel writes them).</summary>
    public void FillBytes(byte value, CudaStream? stream = null)
    {
        Owner.MakeCurrent();
        CudaCheck.Driver(Native.CuDriverApi.cuMemsetD8Async(Pointer, value, (nuint)SizeInBytes, (stream ?? Stream).Handle), "cuMemsetD8Async");
    }

    /// <summary>A tensor of a different shape with the same elements, sharing this tensor's device memory.</summary>
    public CudaTensor View(Shape shape)
    {
        ThrowIfDisposed();
        if (shape.ElementCount != ElementCount)
            throw new TensorMismatchException("reshape", $"a shape of {ElementCount} elements", $"{shape} ({shape.ElementCount} elements)");
        return new CudaTensor(this, shape);
    }

    protected override void Release()
    {
        _block.RemoveReference();
        Interlocked.Decrement(ref s_live);
    }
}
