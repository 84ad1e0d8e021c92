using Fusion.Quantization;

namespace Fusion.Cuda;

/// <summary>
/// An int8 Linear layer on the GPU: the weight's int8 values, each output channel's dequantize scale sₓ·s_w[j] and the float32
/// bias held on the device, and <see cref="Run"/>: quantize x with its calibrated scale, the exact int8 product through cuBLASLt
/// (int32 sums), dequantize with the bias into y. Three kernels; what the CPU reference <see cref="Fusion.Quantization.Int8Linear"/>
/// computes, bit for bit in float32 (f16 outputs are that value rounded once). The int8 plan will fuse the quantize into x's
/// producer and the dequantize into the product's epilogue; this is the unfused reference path and the layer for eager use.
/// </summary>
public sealed class CudaInt8Linear : IDisposable
{
    private readonly CudaTensor _weight, _channelScales;
    private readonly CudaTensor? _bias;

    /// <param name="inputScale">x's scale (its calibrated threshold / 127: <see cref="Int8Quantizer.ScaleFor"/>).</param>
    /// <param name="bias">[N] float32, or empty for none.</param>
    public CudaInt8Linear(CudaDevice device, QuantizedWeight weight, float inputScale, ReadOnlySpan<float> bias)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (!(inputScale > 0) || float.IsInfinity(inputScale))
            throw new ArgumentOutOfRangeException(nameof(inputScale), inputScale, "an int8 scale is finite and positive");
        int n = weight.OutFeatures, k = weight.InFeatures;
        if (!bias.IsEmpty && bias.Length != n) throw new ArgumentException($"int8 Linear: bias holds {bias.Length} values, not {n}", nameof(bias));
        InputScale = inputScale;
        // sₓ·s_w[j] once in float32, as the CPU reference multiplies it, so both dequantize with the same float.
        var scales = new float[n];
        for (int j = 0; j < n; j++) scales[j] = inputScale * weight.Scales[j];
        using var uploads = new DeviceUploads(device);
        _weight = uploads.Of<sbyte>(weight.Values, DType.Int8, n, k);
        _channelScales = uploads.Of<float>(scales, DType.Float32, n);
        if (!bias.IsEmpty) _bias = uploads.Of(bias, DType.Float32, n);
        uploads.Keep();
    }

    public float InputScale { get; }

    public int OutFeatures => _weight.Shape[0];

    public int InFeatures => _weight.Shape[1];

    /// <summary>y[..., N] = dequantize(quantize(x[..., K]) · Wᵀ) + bias, x and y f16 or f32 (each its own).</summary>
    public void Run(CublasLt blas, Int8LinearKernels kernels, CudaTensor x, CudaTensor y, CudaStream? stream = null)
    {
        ArgumentNullException.ThrowIfNull(blas);
        ArgumentNullException.ThrowIfNull(kernels);
        if (x.Rank < 1 || x.Shape[-1] != InFeatures) throw new TensorMismatchException("x", $"[..., {InFeatures}]", x.Shape.ToString());
        y.Expect("y", x.Shape.With(-1, OutFeatures), y.DType);
        var s = stream ?? x.Stream;
        using var quantized = CudaTensor.Empty(s, DType.Int8, x.Shape);
        using var sums = CudaTensor.Empty(s, DType.Int32, y.Shape);
        kernels.Quantize(x, InputScale, quantized, s);
        blas.LinearInt8(quantized, _weight, sums, s);
        kernels.Dequantize(sums, _channelScales, _bias, y, s);
    }

    public void Dispose()
    {
        _weight.Dispose();
        _channelScales.Dispose();
        _bias?.Dispose();
    }
}
