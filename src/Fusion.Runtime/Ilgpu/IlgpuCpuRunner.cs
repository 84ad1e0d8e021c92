using System.Reflection;
using System.Runtime.InteropServices;
using Fusion.Compiler;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;

namespace Fusion.Ilgpu;

/// <summary>
/// Runs a generated kernel's ILGPU version (<see cref="GeneratedKernel.IlgpuMethod"/>) on ILGPU's CPU accelerator, which simulates
/// an NVIDIA GPU's groups and 32-lane warps with .NET threads: the very kernel the GPU runs, on small shapes, where a debugger can
/// step through it (docs/ilgpu.md). Launched on the same grid as on the GPU (<see cref="GeneratedKernel.Launch"/>). Slow: for
/// tests and debugging, not a backend.
/// </summary>
public sealed class IlgpuCpuRunner : IDisposable
{
    private readonly Context _context;
    private readonly CPUAccelerator _accelerator;
    private readonly Dictionary<MethodInfo, Kernel> _kernels = [];
    private readonly Lock _lock = new();

    public IlgpuCpuRunner()
    {
        // The Nvidia-like CPU device: 32-lane warps and up to 1024 threads a group, as the printed kernels assume.
        _context = Context.Create(builder => builder.CPU(CPUDeviceKind.Nvidia).EnableAlgorithms());
        _accelerator = _context.CreateCPUAccelerator(0);
    }

    /// <summary>The kernel's outputs for <paramref name="inputs"/> (its input buffers in IR order) at <paramref name="batch"/>, as <see cref="IBackend.Run"/> gives them.</summary>
    public CpuTensor[] Run(GeneratedKernel kernel, int batch, DType io, params CpuTensor[] inputs)
    {
        var outputs = KernelOperands.Check(kernel, batch, io, inputs);
        var method = kernel.IlgpuMethod(io) ?? throw new FusionException($"kernel {kernel.Name} has no ILGPU version (only kernels a [FusedModel] generated have one)");
        var results = outputs.Select(o => CpuTensor.Zeros(o.DType, o.Shape)).ToArray();
        Launch(kernel.Name, method, inputs, results, [batch], inputs.Length + results.Length, kernel.Launch.Blocks(batch), kernel.Launch.Threads);
        return results;
    }

    /// <summary>
    /// A GEMM's ILGPU version (the template with its epilogue, <see cref="GemmKernel.IlgpuMethod"/>) on x [.., K] and weight [N, K]
    /// (padded to the template's row stride here, as the CUDA backend pads it once) and the epilogue's other inputs in order: its
    /// outputs, as <see cref="IBackend.Gemm"/> gives them. The tensor-core instructions run as their lane-by-lane CPU definitions.
    /// </summary>
    public CpuTensor[] RunGemm(GemmKernel kernel, int batch, DType io, CpuTensor x, CpuTensor weight, params CpuTensor[] epilogueInputs)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        var product = KernelOperands.Product(kernel, x, weight);
        x.Expect("x", x.Shape, kernel.OperandType);
        weight.Expect("weight", new Shape(kernel.N, kernel.K), kernel.OperandType);
        var outputs = KernelOperands.Check(kernel.Epilogue, batch, io, KernelOperands.EpilogueInputs(kernel, null, epilogueInputs));
        var method = kernel.IlgpuMethod(io) ?? throw new FusionException($"GEMM kernel {kernel.Name} has no ILGPU version (only GEMMs a [FusedModel] generated have one)");
        int m = checked((int)(product.ElementCount / kernel.N));
        using var padded = Cuda.Gemm.GemmWeights.PadColumns(weight).Tensor;
        var results = outputs.Select(o => CpuTensor.Zeros(o.DType, o.Shape)).ToArray();
        // The ILGPU template is printed for the CUDA template's default tile, and launches as it does.
        var tile = Cuda.Gemm.GemmTile.Default(kernel.N);
        Launch(kernel.Name, method, [x, padded, .. epilogueInputs], results, [m, batch], 2, tile.Blocks(m, kernel.N), tile.Threads);
        return results;
    }

    /// <summary>
    /// A window attention's ILGPU version (<see cref="FusedKernel.IlgpuMethod"/>, the tensor-core template with its epilogue if it has
    /// one) on qkv [B·nW, TOKENS, 3·HEADS·HEAD_DIM] laid out (heads, 3, d) per token, bias [HEADS, TOKENS, TOKENS] and mask [WINDOWS,
    /// TOKENS, TOKENS] or null, then the epilogue's other inputs in order: the attention output [B·nW, TOKENS, HEADS·HEAD_DIM], or the
    /// epilogue's outputs at <paramref name="batch"/>, as <see cref="IBackend.WindowAttention(Tensor, Tensor, Tensor?, int, float, FusedKernel, int, DType, Tensor[])"/> gives them.
    /// </summary>
    public CpuTensor[] RunWindowAttention(FusedKernel kernel, CpuTensor qkv, CpuTensor bias, CpuTensor? mask, float scale, int batch, DType io,
        params CpuTensor[] epilogueInputs)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        var method = kernel.IlgpuMethod(io) ?? throw new FusionException($"kernel {kernel.Name} has no ILGPU version (only tensor-core window attentions a [FusedModel] generated have one)");
        var (heads, d, tokens) = (kernel.Constant("HEADS"), kernel.Constant("HEAD_DIM"), kernel.Constant("TOKENS"));
        if (qkv.Rank != 3 || qkv.Shape[1] != tokens || qkv.Shape[2] != 3 * heads * d)
            throw new TensorMismatchException("qkv", $"[B·nW, {tokens}, {3 * heads * d}] for kernel {kernel.Name}", qkv.Shape.ToString());
        qkv.Expect("qkv", qkv.Shape, DType.Float16);
        bias.Expect("bias", new Shape(heads, tokens, tokens), DType.Float16);
        if ((mask is not null) != (kernel.Constant("HAS_MASK") != 0))
            throw new FusionException($"kernel {kernel.Name} was specialized {(mask is null ? "with" : "without")} a mask, but the call passes {(mask is null ? "none" : "one")}");
        mask?.Expect("mask", new Shape(kernel.Constant("WINDOWS"), tokens, tokens), DType.Float16);
        int total = qkv.Shape[0];
        var attention = new Shape(total, tokens, heads * d);
        var results = kernel.Epilogue is { } epilogue
            ? KernelOperands.Check(epilogue, batch, io, KernelOperands.EpilogueInputs($"kernel {kernel.Name}", epilogue, null, epilogueInputs)).Select(o => CpuTensor.Zeros(o.DType, o.Shape)).ToArray()
            : [CpuTensor.Zeros(DType.Float16, attention)];
        CpuTensor[] inputs = mask is null ? [qkv, bias, .. epilogueInputs] : [qkv, bias, mask, .. epilogueInputs];
        object[] scalars = kernel.Epilogue is null ? [total, scale] : [total, scale, batch];
        int before = kernel.Epilogue is null ? inputs.Length + 1 : (mask is null ? 2 : 3);
        Launch(kernel.Name, method, inputs, results, scalars, before, (long)total * heads, IlgpuWindowAttentionPrinter.Threads);
        return results;
    }

    /// <summary>
    /// A flash attention's ILGPU version (<see cref="FusedKernel.IlgpuMethod"/>, the tensor-core template with its epilogue if it has one)
    /// on fp16 q, k, v in <paramref name="layout"/> (no bias: the ILGPU version has none) and the epilogue's other inputs in order: the
    /// attention output, or the epilogue's outputs at <paramref name="batch"/>, as <see cref="IBackend.Attention(Tensor, Tensor, Tensor, Tensor?, AttentionLayout, float, bool, FusedKernel, int, DType, Tensor[])"/>
    /// gives them. Causal kernels take their query blocks in groups of two heads (the GPU launcher sizes them to its waves; any
    /// size covers every block once), so a ragged last group is exercised too.
    /// </summary>
    public CpuTensor[] RunAttention(FusedKernel kernel, CpuTensor q, CpuTensor k, CpuTensor v, AttentionLayout layout, float scale, bool causal, int batch, DType io,
        params CpuTensor[] epilogueInputs)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        var method = kernel.IlgpuMethod(io) ?? throw new FusionException($"kernel {kernel.Name} has no ILGPU version (only flash attentions a [FusedModel] generated have one)");
        var g = AttentionGeometry.Of(q, k, v, null, layout);
        if (q.DType != DType.Float16) throw new TensorMismatchException("Attention q", $"f16 for kernel {kernel.Name}", $"{q.DType.ShortName()}{q.Shape}");
        kernel.RequireConstant("HEAD_DIM", g.HeadDim, "the head dim");
        kernel.RequireConstant("CAUSAL", causal ? 1 : 0, "causal");
        kernel.RequireConstant("HAS_BIAS", 0, "bias");
        var results = kernel.Epilogue is { } epilogue
            ? KernelOperands.Check(epilogue, batch, io, KernelOperands.EpilogueInputs($"kernel {kernel.Name}", epilogue, null, epilogueInputs)).Select(o => CpuTensor.Zeros(o.DType, o.Shape)).ToArray()
            : [CpuTensor.Zeros(DType.Float16, g.OutputShape)];
        // Each operand from its first element (a packed projection's k and v start inside the row), as the GPU launcher passes them.
        var operands = new[] { (q, g.Q), (k, g.K), (v, g.V) }.Select(o => From(o.Item1, o.Item2.Offset)).ToArray();
        try
        {
            var scalars = new List<object> { g.Heads, g.Tq, g.Tk, scale };
            foreach (var st in new[] { g.Q, g.K, g.V, g.Output }) scalars.AddRange([st.Batch, st.Head, st.Token]);
            scalars.Add(2); // head_group
            if (kernel.Epilogue is not null)
            {
                int width = g.OutputShape[-1];
                var (rowsPerHead, colsPerHead) = g.Output.Head % width == 0 ? (g.Output.Head / width, 0L) : (0L, g.Output.Head);
                scalars.AddRange([g.Output.Batch / width, rowsPerHead, checked((int)colsPerHead), batch]);
            }
            long blocks = (long)g.Batch * g.Heads * ((g.Tq + IlgpuAttentionPrinter.QueryRows - 1) / IlgpuAttentionPrinter.QueryRows);
            int before = kernel.Epilogue is null ? 4 : 3;
            Launch(kernel.Name, method, [.. operands, .. epilogueInputs], results, [.. scalars], before, blocks, IlgpuAttentionPrinter.Threads,
                IlgpuAttentionPrinter.SharedHalves(g.HeadDim));
            return results;
        }
        finally
        {
            foreach (var o in operands) o.Dispose();
        }
    }

    /// <summary>A copy of <paramref name="t"/>'s elements from <paramref name="offset"/> on.</summary>
    private static CpuTensor From(CpuTensor t, long offset)
    {
        var copy = CpuTensor.Zeros(t.DType, new Shape(checked((int)(t.Shape.ElementCount - offset))));
        t.Span<System.Half>()[(int)offset..].CopyTo(copy.Span<System.Half>());
        return copy;
    }

    /// <summary>
    /// Uploads <paramref name="inputs"/> and <paramref name="results"/> as views, passes <paramref name="scalars"/> after the first
    /// <paramref name="viewsBeforeScalars"/> views (a generated kernel takes its batch last, a GEMM m and the batch after x and w),
    /// runs the kernel (with <paramref name="sharedHalves"/> of dynamic shared memory) and downloads the results.
    /// </summary>
    private void Launch(string name, MethodInfo method, CpuTensor[] inputs, CpuTensor[] results, object[] scalars, int viewsBeforeScalars, long blocks, int threads,
        int sharedHalves = 0)
    {
        lock (_lock)
        {
            if (!_kernels.TryGetValue(method, out var compiled)) _kernels[method] = compiled = Compile(name, method);
            var buffers = new List<MemoryBuffer>();
            try
            {
                var views = new List<object>();
                foreach (var tensor in inputs.Concat(results))
                {
                    var (buffer, view) = Upload(tensor);
                    buffers.Add(buffer);
                    views.Add(view);
                }
                var args = views.Take(viewsBeforeScalars).Concat(scalars).Concat(views.Skip(viewsBeforeScalars)).ToArray();
                var config = sharedHalves > 0
                    ? new KernelConfig(checked((int)blocks), threads, SharedMemoryConfig.RequestDynamic<ushort>(sharedHalves))
                    : new KernelConfig(checked((int)blocks), threads);
                if (blocks > 0) compiled.Launch(_accelerator.DefaultStream, config, args);
                _accelerator.Synchronize();
                for (int i = 0; i < results.Length; i++) Download(buffers[inputs.Length + i], results[i]);
            }
            catch
            {
                foreach (var r in results) r.Dispose();
                throw;
            }
            finally
            {
                foreach (var b in buffers) b.Dispose();
            }
        }
    }

    private Kernel Compile(string name, MethodInfo method)
    {
        try
        {
            return _accelerator.LoadKernel(method);
        }
        catch (Exception e) when (e is not FusionException)
        {
            throw new FusionException($"ILGPU could not compile kernel {name} ({method.Name}) for its CPU accelerator: {e.Message}", e);
        }
    }

    /// <summary>A buffer holding the tensor's elements and the kernel's view of it (float, ILGPU's half, sbyte int8 codes or byte FP8 codes).</summary>
    private (MemoryBuffer Buffer, object View) Upload(CpuTensor tensor)
    {
        if (tensor.DType == DType.Float8E4M3)
        {
            var bytes = _accelerator.Allocate1D<byte>(tensor.Shape.ElementCount);
            bytes.View.AsContiguous().CopyFromCPU(tensor.Span<byte>());
            return (bytes, bytes.View.AsContiguous());
        }
        if (tensor.DType == DType.Float16)
        {
            var buffer = _accelerator.Allocate1D<ILGPU.Half>(tensor.Shape.ElementCount);
            buffer.View.AsContiguous().CopyFromCPU(MemoryMarshal.Cast<System.Half, ILGPU.Half>(tensor.Span<System.Half>()));
            return (buffer, buffer.View.AsContiguous());
        }
        if (tensor.DType == DType.Int8)
        {
            var codes = _accelerator.Allocate1D<sbyte>(tensor.Shape.ElementCount);
            codes.View.AsContiguous().CopyFromCPU(tensor.Span<sbyte>());
            return (codes, codes.View.AsContiguous());
        }
        if (tensor.DType != DType.Float32) throw new TensorMismatchException("ILGPU kernel buffer", "f32, f16, i8 or f8", tensor.DType.ShortName());
        var floats = _accelerator.Allocate1D<float>(tensor.Shape.ElementCount);
        floats.View.AsContiguous().CopyFromCPU(tensor.Span<float>());
        return (floats, floats.View.AsContiguous());
    }

    private static void Download(MemoryBuffer buffer, CpuTensor into)
    {
        if (buffer is MemoryBuffer1D<ILGPU.Half, Stride1D.Dense> halves)
            halves.View.AsContiguous().CopyToCPU(MemoryMarshal.Cast<System.Half, ILGPU.Half>(into.Span<System.Half>()));
        else if (buffer is MemoryBuffer1D<sbyte, Stride1D.Dense> codes)
            codes.View.AsContiguous().CopyToCPU(into.Span<sbyte>());
        else if (buffer is MemoryBuffer1D<byte, Stride1D.Dense> fp8)
            fp8.View.AsContiguous().CopyToCPU(into.Span<byte>());
        else
            ((MemoryBuffer1D<float, Stride1D.Dense>)buffer).View.AsContiguous().CopyToCPU(into.Span<float>());
    }

    public void Dispose()
    {
        _accelerator.Dispose();
        _context.Dispose();
    }
}
