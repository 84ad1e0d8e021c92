namespace Fusion.Cuda;

/// <summary>
/// The element passes around an int8 product (the shipped int8_linear.cu): quantize an f16 or f32 activation to int8 with one
/// scale, and dequantize int32 sums per output channel with a float32 bias into f16 or f32. Both compute what the CPU reference
/// (<see cref="Fusion.Quantization.Int8Quantizer"/>, <see cref="Fusion.Quantization.Int8Linear"/>) computes, bit for bit.
/// </summary>
public sealed class Int8LinearKernels : IDisposable
{
    private readonly CudaModule _module;
    private readonly CudaKernel _quantizeHalf, _quantizeFloat, _dequantizeHalf, _dequantizeFloat;

    public Int8LinearKernels(KernelJit jit)
    {
        _module = jit.LoadShipped("int8_linear.cu");
        _quantizeHalf = _module.GetKernel("fusion_quantize_f16_s8");
        _quantizeFloat = _module.GetKernel("fusion_quantize_f32_s8");
        _dequantizeHalf = _module.GetKernel("fusion_dequantize_s32_f16");
        _dequantizeFloat = _module.GetKernel("fusion_dequantize_s32_f32");
    }

    /// <summary>q = clamp(round-half-even(x · (1 / <paramref name="scale"/>)), −127, 127), x f16 or f32, q int8 of x's shape.</summary>
    public void Quantize(CudaTensor x, float scale, CudaTensor q, CudaStream? stream = null) =>
        ElementPass.Quantize(_quantizeHalf, _quantizeFloat, "int8", DType.Int8, x, scale, q, stream);

    /// <summary>
    /// y[..., j] = sums[..., j] · <paramref name="channelScales"/>[j] + bias[j] in float32 (then rounded once to y's f16 or f32),
    /// sums int32 [..., N], channelScales and bias float32 [N] (no bias: + 0).
    /// </summary>
    public void Dequantize(CudaTensor sums, CudaTensor channelScales, CudaTensor? bias, CudaTensor y, CudaStream? stream = null)
    {
        int n = sums.Rank == 0 ? 0 : sums.Shape[-1];
        sums.Expect("sums", sums.Shape, DType.Int32);
        channelScales.Expect("channel scales", new Shape(n), DType.Float32);
        bias?.Expect("bias", new Shape(n), DType.Float32);
        var kernel = y.DType switch
        {
            DType.Float16 => _dequantizeHalf,
            DType.Float32 => _dequantizeFloat,
            _ => throw new TensorMismatchException("y", "f16 or f32", y.DType.ShortName()),
        };
        y.Expect("y", sums.Shape, y.DType);
        if (sums.ElementCount == 0) return;
        var args = new KernelArguments().Pointer(sums).Pointer(channelScales).Pointer(bias?.Pointer ?? 0).Pointer(y).Long(sums.ElementCount).Int(n);
        ElementPass.Launch(kernel, sums.ElementCount, args, stream ?? sums.Stream);
    }

    public void Dispose() => _module.Dispose();
}
