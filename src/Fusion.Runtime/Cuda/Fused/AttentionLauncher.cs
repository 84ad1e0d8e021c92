using Fusion.Compiler;
using Fusion.Kernels.Cpu.Fused;

namespace Fusion.Cuda.Fused;

/// <summary>
/// Launches an <c>attention</c> kernel (the flash-attention template, <see cref="AttentionKernels"/>) on fp16 operands in any
/// layout of <see cref="AttentionLayout"/>: the operands' strides and lengths are launch arguments, so one kernel serves every
/// sequence length, batch and layout. A one-dimensional grid of B·heads·⌈Tq/rows⌉ blocks (the query blocks of one head adjacent,
/// so the blocks resident together share that head's K and V in L2), 128 threads, dynamic shared memory for q and two stages of
/// k and v. With a generated epilogue the kernel hands each result to it instead of storing the output.
/// </summary>
public sealed class AttentionLauncher(FusedKernelModules modules)
{
    // The template's AT_THREADS and AT_BN (keys a shared-memory tile holds).
    private const int Threads = 128, KeyRows = 64;

    /// <summary>Query rows a block takes: the template's AT_BM, 128 for head dims up to 64 (two m-tiles a warp), else 64.</summary>
    private static int QueryRows(int headDim) => (headDim + 15) / 16 * 16 <= 64 ? 128 : 64;

    /// <summary>A new fp16 tensor holding the attention of the operands (shapes and layout as <see cref="IBackend.Attention"/>).</summary>
    public CudaTensor Run(CudaTensor q, CudaTensor k, CudaTensor v, CudaTensor? bias, AttentionLayout layout, float scale, bool causal, FusedKernel kernel,
        CudaStream? stream = null)
    {
        var g = CheckWithoutEpilogue(q, k, v, bias, layout, causal, kernel);
        return FusedChecks.Allocated(stream ?? q.Stream, g.OutputShape, output =>
            Launch(modules.Get(kernel, AttentionKernels.Pattern), g, q, k, v, bias, output, scale, new KernelArguments(), stream ?? q.Stream));
    }

    /// <summary>The same into the caller's fp16 <paramref name="output"/> (of the layout's output shape).</summary>
    public void Run(CudaTensor q, CudaTensor k, CudaTensor v, CudaTensor? bias, AttentionLayout layout, float scale, bool causal, FusedKernel kernel,
        CudaTensor output, CudaStream? stream = null)
    {
        var g = CheckWithoutEpilogue(q, k, v, bias, layout, causal, kernel);
        FusedChecks.Half(output, "output", g.OutputShape, kernel);
        Launch(modules.Get(kernel, AttentionKernels.Pattern), g, q, k, v, bias, output, scale, new KernelArguments(), stream ?? q.Stream);
    }

    /// <summary>
    /// The attention finished by the kernel's generated epilogue: <paramref name="epilogueInputs"/> and <paramref name="outputs"/> are
    /// the epilogue's buffers other than its accumulator (the attention's output, which stays in registers), in buffer order.
    /// </summary>
    public void Run(CudaTensor q, CudaTensor k, CudaTensor v, CudaTensor? bias, AttentionLayout layout, float scale, bool causal, FusedKernel kernel,
        int batch, DType io, IReadOnlyList<CudaTensor> epilogueInputs, IReadOnlyList<CudaTensor> outputs, CudaStream? stream = null)
    {
        var epilogue = kernel.Epilogue ?? throw new FusionException($"kernel {kernel.Name} has no epilogue");
        var g = Check(q, k, v, bias, layout, causal, kernel);
        // The epilogue reads the attention output as its accumulator: as many images as that buffer has at this batch.
        long images = epilogue.Ir.Buffers.First(b => b.Role == BufferRole.Accumulator).Shape[0].At(batch);
        if (g.Batch != images)
            throw new TensorMismatchException("Attention q", $"{images} images (the epilogue's at batch {batch}) for kernel {kernel.Name}", q.Shape.ToString());
        if (outputs.Count == 0) return;
        // The epilogue indexes the output as [rows, C] (C its last axis): row = b·rowsPerImage + h·rowsPerHead + i, col = h·colsPerHead + e.
        int width = g.OutputShape[-1];
        var (rowsPerHead, colsPerHead) = g.Output.Head % width == 0 ? (g.Output.Head / width, 0L) : (0L, g.Output.Head);
        var extra = new KernelArguments().Long(g.Output.Batch / width).Long(rowsPerHead).Int(checked((int)colsPerHead)).Int(batch);
        foreach (var t in epilogueInputs.Concat(outputs)) extra.Pointer(t);
        // out is unused when an epilogue stores; it gets the epilogue's first output so every pointer argument is valid.
        Launch(modules.Get(kernel, AttentionKernels.Pattern, epilogue.UsesIoType && io == DType.Float16), g, q, k, v, bias, outputs[0], scale, extra,
            stream ?? q.Stream);
    }

    private static AttentionGeometry CheckWithoutEpilogue(CudaTensor q, CudaTensor k, CudaTensor v, CudaTensor? bias, AttentionLayout layout, bool causal,
        FusedKernel kernel)
    {
        if (kernel.Epilogue is not null)
            throw new FusionException($"kernel {kernel.Name} stores through its epilogue; run it with the epilogue's inputs and outputs");
        return Check(q, k, v, bias, layout, causal, kernel);
    }

    private static AttentionGeometry Check(CudaTensor q, CudaTensor k, CudaTensor v, CudaTensor? bias, AttentionLayout layout, bool causal, FusedKernel kernel)
    {
        FusedChecks.Pattern(kernel, AttentionKernels.Pattern);
        var g = AttentionGeometry.Of(q, k, v, bias, layout);
        if (q.DType != DType.Float16) throw new TensorMismatchException("Attention q", $"f16 for kernel {kernel.Name}", $"{q.DType.ShortName()}{q.Shape}");
        kernel.RequireConstant("HEAD_DIM", g.HeadDim, "the head dim");
        kernel.RequireConstant("CAUSAL", causal ? 1 : 0, "causal");
        kernel.RequireConstant("HAS_BIAS", bias is null ? 0 : 1, "bias");
        if (g.HeadDim % 8 == 0) CheckAligned(kernel, (q, g.Q), (k, g.K), (v, g.V));
        return g;
    }

    private static void Launch(CudaKernel function, AttentionGeometry g, CudaTensor q, CudaTensor k, CudaTensor v, CudaTensor? bias, CudaTensor output, float scale,
        KernelArguments extra, CudaStream stream)
    {
        if (g.Batch == 0 || g.Heads == 0 || g.Tq == 0) return;
        int padded = (g.HeadDim + 15) / 16 * 16 + 8, rows = QueryRows(g.HeadDim);
        int shared = (rows + 4 * KeyRows) * padded * 2; // AT_SMEM_BYTES
        function.AllowSharedMemory(shared);
        var args = new KernelArguments()
            .Pointer(At(q, g.Q)).Pointer(At(k, g.K)).Pointer(At(v, g.V)).Pointer(bias?.Pointer ?? 0).Pointer(output)
            .Int(g.Heads).Int(g.Tq).Int(g.Tk).Float(scale);
        foreach (var s in new[] { g.Q, g.K, g.V, g.Output }) args.Long(s.Batch).Long(s.Head).Long(s.Token);
        long queryBlocks = (g.Tq + rows - 1) / rows, blocks = (long)g.Batch * g.Heads * queryBlocks;
        if (blocks > int.MaxValue) throw new FusionException($"attention of {g.Batch} × {g.Heads} heads × {g.Tq} queries needs {blocks} blocks, more than a grid holds");
        long resident = (long)function.ResidentBlocksPerSm(Threads, shared) * stream.Device.MultiprocessorCount;
        args.Long(g.BiasBatch).Long(g.BiasHead).Int(HeadGroup((long)g.Batch * g.Heads, queryBlocks, resident)).Append(extra);
        function.Launch(stream, new Dim3((uint)blocks), Threads, args, shared);
    }

    /// <summary>
    /// The causal kernel's head_group: how many (batch, head) pairs take their query blocks longest first together. Groups of about
    /// two waves of resident blocks, so the blocks that start last are the short ones while the K/V of the heads in flight stay in
    /// L2, and of equal size (a short last group ends on a ragged wave). H200, 96 pairs at T = 4096 (32 query blocks): groups of
    /// 16 or 32 pairs 807–811 µs, 17 (a last group of 11) 827–831 µs, 9 855–858 µs, one pair 854–862 µs.
    /// </summary>
    internal static int HeadGroup(long pairs, long queryBlocks, long residentBlocks)
    {
        double target = Math.Max(1.0, 2.0 * residentBlocks / queryBlocks);
        long groups = Math.Max(1, (long)Math.Round(pairs / target));
        return (int)Math.Clamp((pairs + groups - 1) / groups, 1, int.MaxValue);
    }

    private static ulong At(CudaTensor tensor, TokenStrides strides) => tensor.Pointer + (ulong)(strides.Offset * 2);

    private static void CheckAligned(FusedKernel kernel, params (CudaTensor Tensor, TokenStrides Strides)[] operands)
    {
        foreach (var (tensor, s) in operands)
            if (At(tensor, s) % 16 != 0 || s.Batch % 8 != 0 || s.Head % 8 != 0 || s.Token % 8 != 0)
                throw new FusionException($"kernel {kernel.Name} reads its operands in 16-byte rows: an operand at 0x{At(tensor, s):x} with strides "
                    + $"({s.Batch}, {s.Head}, {s.Token}) elements is not 16-byte aligned");
    }
}
