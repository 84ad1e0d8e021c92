using Fusion.Kernels.Cpu.Fused;

namespace Fusion.Cuda.Fused;

/// <summary>
/// Launches an <c>attention</c> kernel (the flash-attention template, <see cref="AttentionKernels"/>) on fp16 operands in any
/// layout of <see cref="AttentionLayout"/>: the operands' strides and lengths are launch arguments, so one kernel serves every
/// sequence length, batch and layout. Grid (B·heads, ⌈Tq/rows⌉), 128 threads, dynamic shared memory for q and two stages of k, v.
/// </summary>
public sealed class AttentionLauncher(FusedKernelModules modules)
{
    private const int Threads = 128, KeyRows = 64;

    /// <summary>Query rows a block takes: the template's AT_BM, 128 for head dims up to 64 (two m-tiles a warp), else 64.</summary>
    private static int QueryRows(int headDim) => (headDim + 15) / 16 * 16 <= 64 ? 128 : 64;

    /// <summary>A new fp16 tensor holding the attention of the operands (shapes and layout as <see cref="IBackend.Attention"/>).</summary>
    public CudaTensor Run(CudaTensor q, CudaTensor k, CudaTensor v, CudaTensor? bias, AttentionLayout layout, float scale, bool causal, FusedKernel kernel,
        CudaStream? stream = null)
    {
        FusedChecks.Pattern(kernel, AttentionKernels.Pattern);
        var g = AttentionGeometry.Of(q, k, v, bias, layout);
        if (q.DType != DType.Float16) throw new TensorMismatchException("Attention q", $"f16 for kernel {kernel.Name}", $"{q.DType.ShortName()}{q.Shape}");
        kernel.RequireConstant("HEAD_DIM", g.HeadDim, "the head dim");
        kernel.RequireConstant("CAUSAL", causal ? 1 : 0, "causal");
        kernel.RequireConstant("HAS_BIAS", bias is null ? 0 : 1, "bias");
        if (g.HeadDim % 8 == 0) CheckAligned(kernel, (q, g.Q), (k, g.K), (v, g.V));
        return FusedChecks.Allocated(stream ?? q.Stream, g.OutputShape, output =>
        {
            if (g.Batch == 0 || g.Heads == 0 || g.Tq == 0) return;
            int padded = (g.HeadDim + 15) / 16 * 16 + 8, rows = QueryRows(g.HeadDim);
            int shared = (rows + 4 * KeyRows) * padded * 2;
            var function = modules.Get(kernel, AttentionKernels.Pattern);
            function.AllowSharedMemory(shared);
            var args = new KernelArguments()
                .Pointer(At(q, g.Q)).Pointer(At(k, g.K)).Pointer(At(v, g.V)).Pointer(bias?.Pointer ?? 0).Pointer(output)
                .Int(g.Heads).Int(g.Tq).Int(g.Tk).Float(scale);
            foreach (var s in new[] { g.Q, g.K, g.V, g.Output }) args.Long(s.Batch).Long(s.Head).Long(s.Token);
            args.Long(g.BiasBatch).Long(g.BiasHead);
            var grid = new Dim3(checked((uint)(g.Batch * g.Heads)), checked((uint)((g.Tq + rows - 1) / rows)));
            function.Launch(stream ?? q.Stream, grid, Threads, args, shared);
        });
    }

    /// <summary>The address of an operand's first element (its strides' offset, in fp16 elements).</summary>
    private static ulong At(CudaTensor tensor, TokenStrides strides) => tensor.Pointer + (ulong)(strides.Offset * 2);

    /// <summary>The 16-byte loads of a head dim that is a multiple of 8 need 16-byte aligned rows.</summary>
    private static void CheckAligned(FusedKernel kernel, params (CudaTensor Tensor, TokenStrides Strides)[] operands)
    {
        foreach (var (tensor, s) in operands)
            if (At(tensor, s) % 16 != 0 || s.Batch % 8 != 0 || s.Head % 8 != 0 || s.Token % 8 != 0)
                throw new FusionException($"kernel {kernel.Name} reads its operands in 16-byte rows: an operand at 0x{At(tensor, s):x} with strides "
                    + $"({s.Batch}, {s.Head}, {s.Token}) elements is not 16-byte aligned");
    }
}
