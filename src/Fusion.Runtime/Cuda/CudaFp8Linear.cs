using Fusion.Quantization;

namespace Fusion.Cuda;

/// <summary>
/// An FP8 Linear layer on the GPU (sm_89 and newer): the weight's E4M3 codes, the two per-tensor scales (x's, the weight's) and the
/// fp16 bias on the device; <see cref="Run"/> quantizes x to E4M3 and runs cuBLASLt's FP8 product, whose epilogue applies both
/// scales, the bias and the activation, into an fp16 y. Two kernels; the reference is <see cref="Fp8Linear"/>.
/// </summary>
public sealed class CudaFp8Linear : IDisposable
{
    private readonly CudaTensor _weight, _inputScale, _weightScale;
    private readonly CudaTensor? _bias;

    /// <param name="inputScale">x's scale (its calibrated threshold / 448: <see cref="Float8E4M3.ScaleFor"/>).</param>
    /// <param name="bias">[N] (rounded to fp16, cuBLASLt's bias type for an fp16 output), or empty for none.</param>
    public CudaFp8Linear(CudaDevice device, Fp8Weight weight, float inputScale, ReadOnlySpan<float> bias)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (!(inputScale > 0) || float.IsInfinity(inputScale))
            throw new ArgumentOutOfRangeException(nameof(inputScale), inputScale, "an FP8 scale is finite and positive");
        int n = weight.OutFeatures, k = weight.InFeatures;
        if (!bias.IsEmpty && bias.Length != n) throw new ArgumentException($"FP8 Linear: bias holds {bias.Length} values, not {n}", nameof(bias));
        InputScale = inputScale;
        using var uploads = new DeviceUploads(device);
        _weight = uploads.Of<byte>(weight.Codes, DType.Float8E4M3, n, k);
        _inputScale = uploads.Of<float>([inputScale], DType.Float32, 1);
        _weightScale = uploads.Of<float>([weight.Scale], DType.Float32, 1);
        if (!bias.IsEmpty)
        {
            var halves = new Half[n];
            for (int j = 0; j < n; j++) halves[j] = (Half)bias[j];
            _bias = uploads.Of<Half>(halves, DType.Float16, n);
        }
        uploads.Keep();
    }

    public float InputScale { get; }

    public int OutFeatures => _weight.Shape[0];

    public int InFeatures => _weight.Shape[1];

    /// <summary>y[..., N] = epilogue(sₓ·s_w·(e4m3(x)·e4m3(W)ᵀ) + bias), x f16 or f32, y f16; an epilogue other than None needs the bias.</summary>
    public void Run(CublasLt blas, Fp8LinearKernels kernels, CudaTensor x, CudaTensor y, MatmulEpilogue epilogue = MatmulEpilogue.Bias,
        CudaStream? stream = null)
    {
        ArgumentNullException.ThrowIfNull(blas);
        ArgumentNullException.ThrowIfNull(kernels);
        if (x.Rank < 1 || x.Shape[-1] != InFeatures) throw new TensorMismatchException("x", $"[..., {InFeatures}]", x.Shape.ToString());
        if (_bias is null && epilogue != MatmulEpilogue.None)
            throw new ArgumentException($"this FP8 Linear has no bias: the {epilogue} epilogue needs one", nameof(epilogue));
        var s = stream ?? x.Stream;
        using var codes = CudaTensor.Empty(s, DType.Float8E4M3, x.Shape);
        kernels.Quantize(x, InputScale, codes, s);
        blas.LinearFp8(codes, _weight, _inputScale, _weightScale, _bias, y, epilogue, s);
    }

    public void Dispose()
    {
        _weight.Dispose();
        _inputScale.Dispose();
        _weightScale.Dispose();
        _bias?.Dispose();
    }
}
