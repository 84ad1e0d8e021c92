using System.Globalization;
using Fusion.Cuda.Native;

namespace Fusion.Cuda;

/// <summary>
/// A CUDA tensor map (the driver's 128-byte CUtensorMap): how Hopper's copy engine (TMA, <c>cp.async.bulk.tensor</c>) reads boxes of a
/// matrix in device memory into shared memory. Kernels take it by value (<c>__grid_constant__</c>, <see cref="KernelArguments.Struct"/>);
/// it holds the matrix's address, so a CUDA graph that captured a launch keeps reading the buffer it was encoded for, as it does with
/// a pointer argument.
/// </summary>
public static unsafe class TensorMap
{
    /// <summary>A tensor map's size: 16 words of 8 bytes.</summary>
    public const int Words = 16;

    /// <summary>The bytes of one box row: the 128-byte swizzle's row (64 halves, 128 int8).</summary>
    public const int BoxRowBytes = 128;

    /// <summary>
    /// The tensor map of the row-major [<paramref name="rows"/>, <paramref name="columns"/>] matrix at <paramref name="pointer"/> (elements
    /// of <paramref name="elementBytes"/> bytes: 2 for fp16, 1 for int8), read in boxes of <see cref="BoxRowBytes"/> × <paramref name="boxRows"/>
    /// rows into shared memory in the 128-byte swizzle (chunk c of box row r at chunk c ^ (r % 8)), rows and columns past the matrix
    /// zero-filled. <paramref name="what"/> names the matrix in errors. The copy engine needs the address and the row stride on 16 bytes.
    /// </summary>
    public static ulong[] Matrix(CudaDevice device, ulong pointer, long rows, long columns, int elementBytes, int boxRows, string what)
    {
        ArgumentNullException.ThrowIfNull(device);
        long stride = Check(pointer, rows, columns, elementBytes, boxRows, what);
        var map = new ulong[Words];
        ulong* dims = stackalloc ulong[] { (ulong)columns, (ulong)rows };
        ulong* strides = stackalloc ulong[] { (ulong)stride };
        uint* box = stackalloc uint[] { (uint)(BoxRowBytes / elementBytes), (uint)boxRows };
        uint* elementStrides = stackalloc uint[] { 1, 1 };
        device.MakeCurrent();
        CuResult result;
        try
        {
            fixed (ulong* m = map)
                result = CuDriverApi.cuTensorMapEncodeTiled(m, elementBytes == 1 ? CuTensorMapDataType.UInt8 : CuTensorMapDataType.Float16, 2, (void*)pointer, dims, strides,
                    box, elementStrides, interleave: 0, CuTensorMapSwizzle.Bytes128, CuTensorMapL2Promotion.Bytes256, oobFill: 0);
        }
        catch (EntryPointNotFoundException)
        {
            throw new FusionException($"{what}: this CUDA driver has no cuTensorMapEncodeTiled (tensor maps need a CUDA 12 driver or newer); run a tile without TMA");
        }
        if (result != CuResult.Success)
            throw CudaCheck.DriverError(result, string.Create(CultureInfo.InvariantCulture,
                $"cuTensorMapEncodeTiled({what}: [{rows}, {columns}] of {elementBytes}-byte elements at 0x{pointer:x}, boxes of {BoxRowBytes} bytes × {boxRows} rows)"));
        return map;
    }

    /// <summary>What the copy engine accepts, checked before the driver sees it (a refusal there says only "invalid value"); the row stride in bytes.</summary>
    internal static long Check(ulong pointer, long rows, long columns, int elementBytes, int boxRows, string what)
    {
        if (elementBytes is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(elementBytes), elementBytes, "1 (int8) or 2 (fp16) bytes");
        if (boxRows is < 1 or > 256) throw new ArgumentOutOfRangeException(nameof(boxRows), boxRows, "a box has 1 to 256 rows");
        if (rows < 1 || columns < 1 || rows > uint.MaxValue || columns > uint.MaxValue)
            throw new FusionException(string.Create(CultureInfo.InvariantCulture, $"{what}: a tensor map spans 1 to 2^32 rows and columns; the matrix is [{rows}, {columns}]"));
        long stride = columns * elementBytes;
        if (pointer % 16 != 0 || stride % 16 != 0)
            throw new FusionException(string.Create(CultureInfo.InvariantCulture,
                $"{what}: the copy engine reads matrices whose address and row stride are multiples of 16 bytes; this one is at 0x{pointer:x} with rows of {stride} bytes"));
        return stride;
    }
}
