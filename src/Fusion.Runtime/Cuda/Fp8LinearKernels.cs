namespace Fusion.Cuda;

/// <summary>
/// The quantize before an FP8 product (the shipped fp8_linear.cu): an f16 or f32 activation to E4M3 codes with its per-tensor
/// scale, rounded and saturated as <see cref="Fusion.Quantization.Float8E4M3"/> does on the CPU, bit for bit. Needs sm_89 or newer.
/// </summary>
public sealed class Fp8LinearKernels : IDisposable
{
    private const int BlockSize = 256;
    private readonly CudaModule _module;
    private readonly CudaKernel _quantizeHalf, _quantizeFloat;

    public Fp8LinearKernels(KernelJit jit)
    {
        var device = jit.Device;
        if (device.ComputeCapabilityMajor * 10 + device.ComputeCapabilityMinor < 89)
            throw new FusionException($"FP8 needs FP8 tensor cores (sm_89 or newer: Ada, Hopper); {device.Name} is {device.Architecture}");
        _module = jit.LoadShipped("fp8_linear.cu");
        _quantizeHalf = _module.GetKernel("fusion_quantize_f16_e4m3");
        _quantizeFloat = _module.GetKernel("fusion_quantize_f32_e4m3");
    }

    /// <summary>q = e4m3(x · (1 / <paramref name="scale"/>)), x f16 or f32, q E4M3 of x's shape.</summary>
    public void Quantize(CudaTensor x, float scale, CudaTensor q, CudaStream? stream = null)
    {
        if (!(scale > 0) || float.IsInfinity(scale)) throw new ArgumentOutOfRangeException(nameof(scale), scale, "an FP8 scale is finite and positive");
        var kernel = x.DType switch
        {
            DType.Float16 => _quantizeHalf,
            DType.Float32 => _quantizeFloat,
            _ => throw new TensorMismatchException("x", "f16 or f32", x.DType.ShortName()),
        };
        q.Expect("q", x.Shape, DType.Float8E4M3);
        if (x.ElementCount == 0) return;
        var s = stream ?? x.Stream;
        long blocks = Math.Min((x.ElementCount + BlockSize - 1) / BlockSize, (long)s.Device.MultiprocessorCount * 32);
        kernel.Launch(s, (int)blocks, BlockSize, new KernelArguments().Pointer(x).Pointer(q).Long(x.ElementCount).Float(1 / scale));
    }

    public void Dispose() => _module.Dispose();
}
