using Fusion.Compiler;

namespace Fusion.Cuda.Fused;

/// <summary>
/// Launches a <c>window_attention</c> kernel: softmax(q·kᵀ·scale + bias + mask)·v merged over heads, read
/// straight from the QKV projection qkv [B·nW, N, 3·heads·d] laid out (heads, 3, d) per token (or [B·nW, N, heads, 3, d];
/// see <see cref="IBackend.QkvRelayout"/>), bias [heads, N, N],
/// mask [nW, N, N] or null → [B·nW, N, heads·d] (operands in the order of <see cref="IBackend.WindowAttention"/>).
/// </summary>
public sealed class WindowAttentionLauncher(FusedKernelModules modules)
{
    public const string Pattern = "window_attention";

    /// <summary>Threads a block (WA_WARPS·32 of the template); one block per (window, head).</summary>
    private const int Threads = 128;

    public void Run(CudaTensor qkv, CudaTensor bias, CudaTensor? mask, int heads, float scale, CudaTensor output, FusedKernel kernel, CudaStream? stream = null)
    {
        if (kernel.Epilogue is not null)
            throw new FusionException($"kernel {kernel.Name} stores through its epilogue; run it with the epilogue's inputs and outputs");
        int total = Check(qkv, bias, mask, heads, kernel);
        FusedChecks.Half(output, "output", new Shape(total, kernel.Constant("TOKENS"), heads * kernel.Constant("HEAD_DIM")), kernel);
        if (total == 0) return;
        var args = new KernelArguments().Pointer(qkv).Pointer(bias).Pointer(mask?.Pointer ?? 0).Pointer(output).Int(total).Float(scale);
        modules.Get(kernel, Pattern).Launch(stream ?? qkv.Stream, FusedChecks.Blocks((long)total * heads, 1, kernel), Threads, args);
    }

    /// <summary>
    /// The attention finished by the kernel's <see cref="FusedKernel.Epilogue"/> in the same launch: <paramref name="epilogueInputs"/>
    /// and <paramref name="outputs"/> are the epilogue's buffers other than the accumulator, in order, checked by the caller against
    /// its loop IR for <paramref name="batch"/>.
    /// </summary>
    public void Run(CudaTensor qkv, CudaTensor bias, CudaTensor? mask, int heads, float scale, FusedKernel kernel, int batch, DType io,
        IReadOnlyList<CudaTensor> epilogueInputs, IReadOnlyList<CudaTensor> outputs, CudaStream? stream = null)
    {
        var epilogue = kernel.Epilogue ?? throw new FusionException($"kernel {kernel.Name} has no epilogue");
        int total = Check(qkv, bias, mask, heads, kernel);
        // The epilogue reads the attention output as its accumulator: as many windows as that buffer has at this batch.
        long windows = epilogue.Ir.Buffers.First(b => b.Role == BufferRole.Accumulator).Shape[0].At(batch);
        if (total != windows)
            throw new TensorMismatchException("qkv", $"{windows} windows (the epilogue's at batch {batch}) for kernel {kernel.Name}", qkv.Shape.ToString());
        if (total == 0 || outputs.Count == 0) return;
        // out is unused when an epilogue stores; it gets the epilogue's first output so every pointer argument is valid.
        var args = new KernelArguments().Pointer(qkv).Pointer(bias).Pointer(mask?.Pointer ?? 0).Pointer(outputs[0]).Int(total).Float(scale).Int(batch);
        foreach (var t in epilogueInputs.Concat(outputs)) args.Pointer(t);
        modules.Get(kernel, Pattern, epilogue.UsesIoType && io == DType.Float16)
            .Launch(stream ?? qkv.Stream, FusedChecks.Blocks((long)total * heads, 1, kernel), Threads, args);
    }

    /// <summary>Checks the operands against the kernel's constants; returns the windows in the batch (B·nW).</summary>
    private static int Check(CudaTensor qkv, CudaTensor bias, CudaTensor? mask, int heads, FusedKernel kernel)
    {
        FusedChecks.Pattern(kernel, Pattern);
        var (n, d, windows) = (kernel.Constant("TOKENS"), kernel.Constant("HEAD_DIM"), kernel.Constant("WINDOWS"));
        FusedChecks.Argument(kernel, "HEADS", heads, "heads");
        bool hasMask = kernel.Constant("HAS_MASK") != 0;
        if (hasMask != mask is not null)
            throw new FusionException($"kernel {kernel.Name} was specialized {(hasMask ? "with" : "without")} a mask, but the call passes {(mask is null ? "none" : "one")}");
        int total = qkv.Rank is 3 or 5 ? qkv.Shape[0] : -1;
        if (total < 0 || qkv.DType != DType.Float16)
            throw new TensorMismatchException("qkv", $"f16[B·nW, {n}, {3 * heads * d}] for kernel {kernel.Name}", $"{qkv.DType.ShortName()}{qkv.Shape}");
        FusedChecks.Half(qkv, "qkv", qkv.Rank == 3 ? new Shape(total, n, 3 * heads * d) : new Shape(total, n, heads, 3, d), kernel);
        FusedChecks.Half(bias, "bias", new Shape(heads, n, n), kernel);
        if (mask is not null)
        {
            FusedChecks.Half(mask, "mask", new Shape(windows, n, n), kernel);
            if (total % windows != 0)
                throw new TensorMismatchException("qkv", $"a multiple of {windows} windows (the mask's count) for kernel {kernel.Name}", qkv.Shape.ToString());
        }
        return total;
    }

    /// <summary>A new [B·nW, N, heads·d] tensor holding the attention output.</summary>
    public CudaTensor Run(CudaTensor qkv, CudaTensor bias, CudaTensor? mask, int heads, float scale, FusedKernel kernel, CudaStream? stream = null)
    {
        var (n, d) = (kernel.Constant("TOKENS"), kernel.Constant("HEAD_DIM"));
        return FusedChecks.Allocated(stream ?? qkv.Stream, new Shape(qkv.Rank == 0 ? 0 : qkv.Shape[0], n, heads * d), output => Run(qkv, bias, mask, heads, scale, output, kernel, stream));
    }
}
