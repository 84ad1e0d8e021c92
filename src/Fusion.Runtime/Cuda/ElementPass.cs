namespace Fusion.Cuda;

/// <summary>
/// What the element passes of the low-precision layers share (int8_linear.cu, fp8_linear.cu): their grid-stride launch, and the
/// quantize of an f16 or f32 activation into one-byte codes with one scale, whichever code format.
/// </summary>
internal static class ElementPass
{
    private const int BlockSize = 256;

    /// <summary>The kernels loop with a grid stride: enough blocks to fill the GPU several times over, not one thread per element.</summary>
    public static void Launch(CudaKernel kernel, long elements, KernelArguments args, CudaStream stream)
    {
        long blocks = Math.Min((elements + BlockSize - 1) / BlockSize, (long)stream.Device.MultiprocessorCount * 32);
        kernel.Launch(stream, (int)blocks, BlockSize, args);
    }

    /// <summary>
    /// q = codes of x · (1 / <paramref name="scale"/>) by <paramref name="fromHalf"/> or <paramref name="fromFloat"/> (x f16 or f32),
    /// q <paramref name="codes"/> of x's shape; <paramref name="format"/> names the codes in messages ("int8", "FP8").
    /// </summary>
    public static void Quantize(CudaKernel fromHalf, CudaKernel fromFloat, string format, DType codes, CudaTensor x, float scale, CudaTensor q,
        CudaStream? stream)
    {
        if (!(scale > 0) || float.IsInfinity(scale)) throw new ArgumentOutOfRangeException(nameof(scale), scale, $"an {format} scale is finite and positive");
        var kernel = x.DType switch
        {
            DType.Float16 => fromHalf,
            DType.Float32 => fromFloat,
            _ => throw new TensorMismatchException("x", "f16 or f32", x.DType.ShortName()),
        };
        q.Expect("q", x.Shape, codes);
        if (x.ElementCount == 0) return;
        Launch(kernel, x.ElementCount, new KernelArguments().Pointer(x).Pointer(q).Long(x.ElementCount).Float(1 / scale), stream ?? x.Stream);
    }
}
