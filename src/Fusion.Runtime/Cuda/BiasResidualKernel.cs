namespace Fusion.Cuda;

/// <summary>
/// out = (x + bias) + residual for fp16 tensors [..., C] with bias [C], C a multiple of 8
/// (the kernel moves 16-byte vectors); runs the shipped bias_residual_half2.cu.
/// </summary>
public sealed class BiasResidualKernel : IDisposable
{
    private const int BlockSize = 256;

    /// <summary>Vectors each thread handles; must equal FUSION_BR_VECTORS in the kernel source.</summary>
    private const int VectorsPerThread = 4;
    private readonly CudaModule _module;
    private readonly CudaKernel _kernel;

    public BiasResidualKernel(KernelJit jit)
    {
        _module = jit.LoadShipped("bias_residual_half2.cu");
        _kernel = _module.GetKernel("fusion_bias_residual_half2");
    }

    public void Run(CudaTensor x, CudaTensor bias, CudaTensor residual, CudaTensor output, CudaStream? stream = null)
    {
        int channels = x.Rank == 0 ? 0 : x.Shape[-1];
        if (channels % 8 != 0)
            throw new TensorMismatchException("x", "a last dimension that is a multiple of 8", x.Shape.ToString());
        x.Expect("x", x.Shape, DType.Float16);
        bias.Expect("bias", new Shape(channels), DType.Float16);
        residual.Expect("residual", x.Shape, DType.Float16);
        output.Expect("output", x.Shape, DType.Float16);
        if (x.ElementCount / 8 > int.MaxValue)
            throw new TensorMismatchException("x", $"at most {(long)int.MaxValue * 8} elements", x.ElementCount.ToString(System.Globalization.CultureInfo.InvariantCulture));
        int vectors = (int)(x.ElementCount / 8);
        if (vectors == 0) return;
        var args = new KernelArguments().Pointer(x).Pointer(bias).Pointer(residual).Pointer(output).Int(vectors).Int(channels);
        _kernel.Launch(stream ?? x.Stream, (vectors + BlockSize * VectorsPerThread - 1) / (BlockSize * VectorsPerThread), BlockSize, args);
    }

    public void Dispose() => _module.Dispose();
}
