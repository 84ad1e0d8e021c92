namespace Fusion.Cuda.Fused;

/// <summary>
/// Launches an <c>ln_shift_partition</c> kernel: LayerNorm over C, cyclic shift by −shift on H and W,
/// window partition, x [B, H, W, C] → [B·nW, window², C] (operands in the order of
/// <see cref="IBackend.LayerNormWindowPartition"/>).
/// </summary>
public sealed class LayerNormPartitionLauncher(FusedKernelModules modules)
{
    public const string Pattern = "ln_shift_partition";

    /// <summary>Warps (tokens) a block: LN_WARPS of the template.</summary>
    private const int Warps = 8;

    public void Run(CudaTensor x, CudaTensor weight, CudaTensor bias, float eps, int window, int shift, CudaTensor output, FusedKernel kernel,
        CudaStream? stream = null)
    {
        FusedChecks.Pattern(kernel, Pattern);
        var (c, h, w) = (kernel.Constant("C"), kernel.Constant("H"), kernel.Constant("W"));
        FusedChecks.Argument(kernel, "WINDOW", window, "window");
        FusedChecks.Argument(kernel, "SHIFT", shift, "shift");
        int windows = FusedChecks.WindowsPerImage(kernel, h, w, window);
        FusedChecks.HalfOfRank(x, "x", 4, $"[B, {h}, {w}, {c}]", kernel);
        int batch = x.Shape[0];
        FusedChecks.Half(x, "x", new Shape(batch, h, w, c), kernel);
        FusedChecks.Half(weight, "weight", new Shape(c), kernel);
        FusedChecks.Half(bias, "bias", new Shape(c), kernel);
        FusedChecks.Half(output, "output", OutputShape(batch, windows, window, c), kernel);
        if (batch == 0) return;
        var args = new KernelArguments().Pointer(x).Pointer(weight).Pointer(bias).Pointer(output).Int(batch).Float(eps);
        modules.Get(kernel, Pattern).Launch(stream ?? x.Owner.DefaultStream, FusedChecks.Blocks((long)batch * h * w, Warps, kernel), Warps * 32, args);
    }

    /// <summary>A new [B·nW, window², C] tensor holding the normalized, shifted, partitioned x.</summary>
    public CudaTensor Run(CudaTensor x, CudaTensor weight, CudaTensor bias, float eps, int window, int shift, FusedKernel kernel, CudaStream? stream = null)
    {
        FusedChecks.HalfOfRank(x, "x", 4, "[B, H, W, C]", kernel);
        var (batch, h, w, c) = (x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]);
        return FusedChecks.Allocated(x.Owner, OutputShape(batch, FusedChecks.WindowsPerImage(kernel, h, w, window), window, c), output => Run(x, weight, bias, eps, window, shift, output, kernel, stream));
    }

    private static Shape OutputShape(int batch, int windows, int window, int c) => new(batch * windows, window * window, c);
}
