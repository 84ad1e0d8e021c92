namespace Fusion.Cuda.Fused;

/// <summary>
/// Launches a <c>window_reverse_residual</c> kernel: residual + roll(reverse(x), (shift, shift), (1, 2)),
/// x [B·nW, window², C], residual [B, H, W, C] → [B, H, W, C] (operands in the order of
/// <see cref="IBackend.WindowReverseResidual"/>).
/// </summary>
public sealed class WindowReverseResidualLauncher(FusedKernelModules modules)
{
    public const string Pattern = "window_reverse_residual";

    /// <summary>Threads a block and items a thread: WR_THREADS and WR_ITEMS of the template.</summary>
    private const int Threads = 256, ItemsPerThread = 4;

    public void Run(CudaTensor x, CudaTensor residual, int window, int shift, CudaTensor output, FusedKernel kernel, CudaStream? stream = null)
    {
        FusedChecks.Pattern(kernel, Pattern);
        var (c, h, w) = (kernel.Constant("C"), kernel.Constant("H"), kernel.Constant("W"));
        FusedChecks.Argument(kernel, "WINDOW", window, "window");
        FusedChecks.Argument(kernel, "SHIFT", shift, "shift");
        int windows = FusedChecks.WindowsPerImage(kernel, h, w, window);
        FusedChecks.HalfOfRank(residual, "residual", 4, $"[B, {h}, {w}, {c}]", kernel);
        int batch = residual.Shape[0];
        FusedChecks.Half(residual, "residual", new Shape(batch, h, w, c), kernel);
        FusedChecks.Half(x, "x", new Shape(batch * windows, window * window, c), kernel);
        FusedChecks.Half(output, "output", residual.Shape, kernel);
        if (batch == 0) return;
        long pixels = (long)batch * h * w;
        long items = c % 8 == 0 ? pixels * (c / 8) : pixels * c;
        var args = new KernelArguments().Pointer(x).Pointer(residual).Pointer(output).Int(batch);
        modules.Get(kernel, Pattern).Launch(stream ?? x.Owner.DefaultStream, FusedChecks.Blocks(items, Threads * ItemsPerThread, kernel), Threads, args);
    }

    /// <summary>A new [B, H, W, C] tensor holding residual + the shifted, reversed windows.</summary>
    public CudaTensor Run(CudaTensor x, CudaTensor residual, int window, int shift, FusedKernel kernel, CudaStream? stream = null)
    {
        return FusedChecks.Allocated(residual.Owner, residual.Shape, output => Run(x, residual, window, shift, output, kernel, stream));
    }
}
