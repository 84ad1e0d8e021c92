namespace Fusion.Cuda.Fused;

/// <summary>
/// Launches a <c>bias_residual</c> kernel: out = x + bias + residual, x and residual [..., C], bias [C]
/// (operands in the order of <see cref="IBackend.BiasResidual"/>).
/// </summary>
public sealed class BiasResidualLauncher(FusedKernelModules modules)
{
    public const string Pattern = "bias_residual";

    /// <summary>Threads a block and items a thread: BR_THREADS and BR_ITEMS of the template.</summary>
    private const int Threads = 256, ItemsPerThread = 4;

    /// <summary>Writes x + bias + residual into <paramref name="output"/> (same shape as x).</summary>
    public void Run(CudaTensor x, CudaTensor bias, CudaTensor residual, CudaTensor output, FusedKernel kernel, CudaStream? stream = null)
    {
        FusedChecks.Pattern(kernel, Pattern);
        int c = kernel.Constant("C");
        if (x.Rank == 0 || x.Shape[-1] != c || x.DType != DType.Float16)
            throw new TensorMismatchException("x", $"f16[..., {c}] for kernel {kernel.Name}", $"{x.DType.ShortName()}{x.Shape}");
        FusedChecks.Half(bias, "bias", new Shape(c), kernel);
        FusedChecks.Half(residual, "residual", x.Shape, kernel);
        FusedChecks.Half(output, "output", x.Shape, kernel);
        long rows = x.ElementCount / c;
        if (rows == 0) return;
        long items = c % 8 == 0 ? rows * (c / 8) : rows * c;
        var args = new KernelArguments().Pointer(x).Pointer(bias).Pointer(residual).Pointer(output).Int(FusedChecks.ToInt(rows, "rows", kernel));
        modules.Get(kernel, Pattern).Launch(stream ?? x.Owner.DefaultStream, FusedChecks.Blocks(items, Threads * ItemsPerThread, kernel), Threads, args);
    }

    /// <summary>A new tensor holding x + bias + residual.</summary>
    public CudaTensor Run(CudaTensor x, CudaTensor bias, CudaTensor residual, FusedKernel kernel, CudaStream? stream = null)
    {
        return FusedChecks.Allocated(x.Owner, x.Shape, output => Run(x, bias, residual, output, kernel, stream));
    }
}
