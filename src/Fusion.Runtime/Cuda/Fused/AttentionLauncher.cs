using System.Globalization;
using Fusion.Compiler;
using Fusion.Cuda.Generated;
using Fusion.Kernels.Cpu.Fused;

namespace Fusion.Cuda.Fused;

/// <summary>
/// Launches an <c>attention</c> kernel (the flash-attention template, <see cref="AttentionKernels"/>) on fp16 operands in any
/// layout of <see cref="AttentionLayout"/>: the operands' strides and lengths are launch arguments, so one kernel serves every
/// sequence length, batch and layout. A one-dimensional grid of B·heads·⌈Tq/rows⌉ blocks (the query blocks of one head adjacent,
/// so the blocks resident together share that head's K and V in L2), 128 threads, dynamic shared memory for q and two stages of
/// k and v. With a generated epilogue the kernel hands each result to it instead of storing the output. A kernel a model generated
/// with an ILGPU version (<see cref="FusedKernel.IlgpuKernels"/>) runs that under FUSION_KERNELS=ilgpu, and under auto whichever
/// version its first launch at that size measured faster (<see cref="TemplateLanguage"/>).
/// </summary>
public sealed class AttentionLauncher : IDisposable
{
    // The template's AT_THREADS and AT_BN (keys a shared-memory tile holds).
    private const int Threads = 128, KeyRows = 64;

    private readonly TemplateLanguage _language;

    /// <param name="generated">Whose kernel language, auto choices and warnings the ILGPU versions follow; null runs the NVRTC kernels only.</param>
    public AttentionLauncher(FusedKernelModules modules, GeneratedKernelLauncher? generated = null) =>
        _language = new TemplateLanguage(modules, generated, AttentionKernels.Pattern);

    /// <summary>Whether the last launch ran an ILGPU kernel.</summary>
    public bool LastRanIlgpu { get; private set; }

    /// <summary>Query rows a block takes: the template's AT_BM, 128 for head dims up to 64 (two m-tiles a warp), else 64.</summary>
    private static int QueryRows(int headDim) => (headDim + 15) / 16 * 16 <= 64 ? 128 : 64;

    /// <summary>A new fp16 tensor holding the attention of the operands (shapes and layout as <see cref="IBackend.Attention"/>).</summary>
    public CudaTensor Run(CudaTensor q, CudaTensor k, CudaTensor v, CudaTensor? bias, AttentionLayout layout, float scale, bool causal, FusedKernel kernel,
        CudaStream? stream = null)
    {
        var g = CheckWithoutEpilogue(q, k, v, bias, layout, causal, kernel);
        var on = stream ?? q.Stream;
        return FusedChecks.Allocated(on, g.OutputShape, output => Launch(new Call(kernel, DType.Float32, g, q, k, v, bias, scale, null), [output], on));
    }

    /// <summary>The same into the caller's fp16 <paramref name="output"/> (of the layout's output shape).</summary>
    public void Run(CudaTensor q, CudaTensor k, CudaTensor v, CudaTensor? bias, AttentionLayout layout, float scale, bool causal, FusedKernel kernel,
        CudaTensor output, CudaStream? stream = null)
    {
        var g = CheckWithoutEpilogue(q, k, v, bias, layout, causal, kernel);
        FusedChecks.Half(output, "output", g.OutputShape, kernel);
        Launch(new Call(kernel, DType.Float32, g, q, k, v, bias, scale, null), [output], stream ?? q.Stream);
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
        var tail = new EpilogueTail(g.Output.Batch / width, rowsPerHead, checked((int)colsPerHead), batch, epilogueInputs);
        Launch(new Call(kernel, io, g, q, k, v, bias, scale, tail), outputs, stream ?? q.Stream);
    }

    /// <summary>One call's operands other than its outputs (the attention's, or its epilogue's).</summary>
    private sealed record Call(FusedKernel Kernel, DType Io, AttentionGeometry G, CudaTensor Q, CudaTensor K, CudaTensor V, CudaTensor? Bias, float Scale,
        EpilogueTail? Epilogue);

    /// <summary>What a kernel with an epilogue takes after the template's own parameters: the output's row and column strides, the batch, its buffers.</summary>
    private sealed record EpilogueTail(long RowsPerImage, long RowsPerHead, int ColsPerHead, int Batch, IReadOnlyList<CudaTensor> Inputs);

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

    /// <summary>The call in the version the kernel language picks (auto: measured once per kernel, io type and shape).</summary>
    private void Launch(Call call, IReadOnlyList<CudaTensor> outputs, CudaStream stream)
    {
        var g = call.G;
        if (g.Batch == 0 || g.Heads == 0 || g.Tq == 0) return;
        bool ilgpu = false;
        if (_language.Considers(call.Kernel))
        {
            // The ILGPU kernel's epilogue indexes in 32 bits: past 2³⁰ elements in any operand the NVRTC kernel runs.
            var operands = new[] { call.Q, call.K, call.V }.Concat(outputs).Concat(call.Epilogue?.Inputs ?? []);
            bool fit = operands.All(t => t.ElementCount < GeneratedKernelLauncher.Index64Elements);
            string size = string.Create(CultureInfo.InvariantCulture, $"b={g.Batch}|h={g.Heads}|tq={g.Tq}|tk={g.Tk}");
            ilgpu = _language.UseIlgpu(call.Kernel, call.Io, fit, size, stream,
                () => outputs.Select(o => CudaTensor.Empty(stream, o.DType, o.Shape)).ToList(), (il, scratch) => LaunchAs(il, call, scratch, stream));
        }
        LaunchAs(ilgpu, call, outputs, stream);
        LastRanIlgpu = ilgpu;
    }

    /// <summary>
    /// The NVRTC kernel takes (q, k, v, bias or 0, out, heads, tq, tk, scale, the strides, bias strides, head_group[, the epilogue's
    /// tail]) with pointers, out the epilogue's first output when an epilogue stores (unused, but a valid pointer); the ILGPU one the
    /// same with {pointer, length} views, without the bias and its strides (it has none) and without out when an epilogue stores.
    /// </summary>
    private void LaunchAs(bool ilgpu, Call call, IReadOnlyList<CudaTensor> outputs, CudaStream stream)
    {
        var (g, kernel) = (call.G, call.Kernel);
        int padded = (g.HeadDim + 15) / 16 * 16 + 8, rows = QueryRows(g.HeadDim);
        int shared = (rows + 4 * KeyRows) * padded * 2; // AT_SMEM_BYTES
        var epilogue = call.Epilogue;
        var function = _language.Function(ilgpu, kernel, call.Io, kernel.Epilogue?.UsesIoType == true && call.Io == DType.Float16);
        function.AllowSharedMemory(shared);
        var args = new KernelArguments();
        void Operand(CudaTensor t, TokenStrides s)
        {
            if (ilgpu) args.View(At(t, s), t.ElementCount - s.Offset);
            else args.Pointer(At(t, s));
        }
        void Buffer(CudaTensor t)
        {
            if (ilgpu) args.View(t.Pointer, t.ElementCount);
            else args.Pointer(t);
        }
        Operand(call.Q, g.Q);
        Operand(call.K, g.K);
        Operand(call.V, g.V);
        if (!ilgpu) args.Pointer(call.Bias?.Pointer ?? 0);
        if (epilogue is null || !ilgpu) Buffer(outputs[0]);
        args.Int(g.Heads).Int(g.Tq).Int(g.Tk).Float(call.Scale);
        foreach (var s in new[] { g.Q, g.K, g.V, g.Output }) args.Long(s.Batch).Long(s.Head).Long(s.Token);
        long queryBlocks = (g.Tq + rows - 1) / rows, blocks = (long)g.Batch * g.Heads * queryBlocks;
        if (blocks > int.MaxValue) throw new FusionException($"attention of {g.Batch} × {g.Heads} heads × {g.Tq} queries needs {blocks} blocks, more than a grid holds");
        long resident = (long)function.ResidentBlocksPerSm(Threads, shared) * stream.Device.MultiprocessorCount;
        if (!ilgpu) args.Long(g.BiasBatch).Long(g.BiasHead);
        args.Int(HeadGroup((long)g.Batch * g.Heads, queryBlocks, resident));
        if (epilogue is not null)
        {
            args.Long(epilogue.RowsPerImage).Long(epilogue.RowsPerHead).Int(epilogue.ColsPerHead).Int(epilogue.Batch);
            foreach (var t in epilogue.Inputs.Concat(outputs)) Buffer(t);
        }
        function.Launch(stream, new Dim3((uint)blocks), Threads, args, shared);
    }

    /// <summary>
    /// Compiles (or loads from the cache) the ILGPU version of every io variant of <paramref name="kernels"/> that has one, in parallel,
    /// under FUSION_KERNELS=ilgpu and auto (<see cref="TemplateLanguage.PrecompileIlgpu"/>). Returns how many.
    /// </summary>
    public int PrecompileIlgpu(IEnumerable<FusedKernel> kernels) => _language.PrecompileIlgpu(kernels);

    public void Dispose() => _language.Dispose();

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
