using System.Buffers;
using System.Runtime.InteropServices;

namespace Fusion;

/// <summary>
/// A tensor in host memory. Views (reshapes) share the same managed array, so a view and its source may be disposed in
/// any order. Tensors made by <see cref="Zeros(DType, Shape)"/> and the factories own a fresh array the GC frees; the
/// results of the CPU kernels take theirs from a pool (<see cref="Uninitialized"/>) and give it back when the last tensor
/// using it is disposed, so a model pass does not allocate and zero its intermediates anew every time: a disposed
/// tensor's elements (its spans included) must not be read after that.
/// </summary>
public sealed class CpuTensor : Tensor
{
    private static long s_live;
    private readonly SharedStorage<byte[]> _storage;

    private CpuTensor(Shape shape, DType dtype, SharedStorage<byte[]> storage) : base(shape, dtype)
    {
        _storage = storage;
        Interlocked.Increment(ref s_live);
    }


    /// <summary>Number of CPU tensors created and not yet disposed (for leak tests).</summary>
    public static long LiveCount => Interlocked.Read(ref s_live);

    public override DeviceKind Device => DeviceKind.Cpu;

    /// <summary>Allocates a zero-filled tensor.</summary>
    public static CpuTensor Zeros(DType dtype, Shape shape) => new(shape, dtype, new SharedStorage<byte[]>(Allocate(dtype, shape.ElementCount), release: null));

    /// <summary>
    /// A tensor for a kernel that writes every element: its array comes from the pool with whatever it held, and goes back
    /// when the tensor (and every view of it) is disposed.
    /// </summary>
    internal static CpuTensor Uninitialized(DType dtype, Shape shape)
    {
        long bytes = checked(shape.ElementCount * dtype.SizeInBytes());
        if (bytes > Array.MaxLength) return Zeros(dtype, shape); // the same error as Zeros
        return new(shape, dtype, new SharedStorage<byte[]>(ArrayPool<byte>.Shared.Rent((int)Math.Max(1, bytes)), array => ArrayPool<byte>.Shared.Return(array)));
    }

    public static CpuTensor Zeros(DType dtype, params int[] dims) => Zeros(dtype, new Shape(dims));

    /// <summary>Copies <paramref name="data"/> into a new float32 tensor.</summary>
    public static CpuTensor FromArray(ReadOnlySpan<float> data, params int[] dims)
    {
        var shape = new Shape(dims);
        if (data.Length != shape.ElementCount)
            throw new TensorMismatchException("data", $"{shape.ElementCount} elements for shape {shape}", $"{data.Length}");
        var t = Zeros(DType.Float32, shape);
        data.CopyTo(t.Span<float>());
        return t;
    }

    /// <summary>Copies <paramref name="data"/> into a new float16 tensor.</summary>
    public static CpuTensor FromArray(ReadOnlySpan<Half> data, params int[] dims)
    {
        var shape = new Shape(dims);
        if (data.Length != shape.ElementCount)
            throw new TensorMismatchException("data", $"{shape.ElementCount} elements for shape {shape}", $"{data.Length}");
        var t = Zeros(DType.Float16, shape);
        data.CopyTo(t.Span<Half>());
        return t;
    }

    /// <summary>The elements, typed. <typeparamref name="T"/> must match <see cref="Tensor.DType"/>.</summary>
    public Span<T> Span<T>() where T : unmanaged
    {
        ThrowIfDisposed();
        if (ElementTypeOf(DType) != typeof(T))
            throw new InvalidOperationException($"tensor holds {DType.ShortName()}, not {typeof(T).Name}");
        return MemoryMarshal.Cast<byte, T>(_storage.Value.AsSpan(0, checked((int)SizeInBytes)));
    }

    /// <summary>Raw bytes of the elements, for copies and file I/O.</summary>
    public Span<byte> Bytes
    {
        get
        {
            ThrowIfDisposed();
            return _storage.Value.AsSpan(0, checked((int)SizeInBytes));
        }
    }

    /// <summary>The elements as float32, converting from float16 or integers when needed.</summary>
    public float[] ToFloatArray()
    {
        ThrowIfDisposed();
        var result = new float[ElementCount];
        switch (DType)
        {
            case DType.Float32: Span<float>().CopyTo(result); break;
            case DType.Float16: System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(Span<Half>(), result); break;
            case DType.Int8: { var s = Span<sbyte>(); for (int i = 0; i < s.Length; i++) result[i] = s[i]; break; }
            case DType.Int32: { var s = Span<int>(); for (int i = 0; i < s.Length; i++) result[i] = s[i]; break; }
            case DType.Float8E4M3: { var s = Span<byte>(); for (int i = 0; i < s.Length; i++) result[i] = Quantization.Float8E4M3.Decode(s[i]); break; }
        }
        return result;
    }

    /// <summary>The whole storage array (views share it, at offset 0), for kernels that pin it.</summary>
    internal byte[] RawStorage
    {
        get
        {
            ThrowIfDisposed();
            return _storage.Value;
        }
    }

    /// <summary>A tensor of a different shape with the same elements, sharing storage.</summary>
    public CpuTensor View(Shape shape)
    {
        ThrowIfDisposed();
        if (shape.ElementCount != ElementCount)
            throw new TensorMismatchException("reshape", $"a shape of {ElementCount} elements", $"{shape} ({shape.ElementCount} elements)");
        _storage.AddReference();
        return new CpuTensor(shape, DType, _storage);
    }

    protected override void Release()
    {
        _storage.RemoveReference();
        Interlocked.Decrement(ref s_live);
    }

    public static Type ElementTypeOf(DType dtype) => dtype switch
    {
        DType.Float32 => typeof(float),
        DType.Float16 => typeof(Half),
        DType.Int8 => typeof(sbyte),
        DType.Int32 => typeof(int),
        DType.Float8E4M3 => typeof(byte), // the raw codes: Quantization.Float8E4M3 decodes them
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    private static byte[] Allocate(DType dtype, long elements)
    {
        long bytes = checked(elements * dtype.SizeInBytes());
        if (bytes > Array.MaxLength)
            throw new FusionException($"a CPU tensor of {elements} {dtype.ShortName()} elements ({bytes} bytes) exceeds the largest array .NET can allocate");
        return new byte[bytes];
    }
}
