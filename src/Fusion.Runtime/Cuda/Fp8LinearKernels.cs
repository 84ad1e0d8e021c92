namespace Fusion.Cuda;

/// <summary>
/// The quantize before an FP8 product (the shipped fp8_linear.cu): an f16 or f32 activation to E4M3 codes with its per-tensor
/// scale, rounded and saturated as <see cref="Fusion.Quantization.Float8E4M3"/> does on the CPU, bit for bit. Needs sm_89 or newer.
/// </summary>
public sealed class Fp8LinearKernels : IDisposable
{
    private readonly CudaModule _module;
    private readonly CudaKernel _quantizeHalf, _quantizeFloat;

    public Fp8LinearKernels(KernelJit jit)
    {
        var device = jit.Device;
        if (device.ComputeCapability < 89)
            throw new FusionException($"FP8 needs FP8 tensor cores (sm_89 or newer: Ada, Hopper); {device.Name} is {device.Architecture}");
        _module = jit.LoadShipped("fp8_linear.cu");
        _quantizeHalf = _module.GetKernel("fusion_quantize_f16_e4m3");
        _quantizeFloat = _module.GetKernel("fusion_quantize_f32_e4m3");
    }

    /// <summary>q = e4m3(x · (1 / <paramref name="scale"/>)), x f16 or f32, q E4M3 of x's shape.</summary>
    public void Quantize(CudaTensor x, float scale, CudaTensor q, CudaStream? stream = null) =>
        ElementPass.Quantize(_quantizeHalf, _quantizeFloat, "FP8", DType.Float8E4M3, x, scale, q, stream);

    public void Dispose() => _module.Dispose();
}
