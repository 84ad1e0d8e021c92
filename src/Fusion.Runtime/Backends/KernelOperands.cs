using Fusion.Compiler;

namespace Fusion;

/// <summary>
/// The operand checks of <see cref="IBackend.Run"/> and <see cref="IBackend.Gemm"/>, shared by the backends: every input against
/// the buffer its kernel's IR declares (shape for the batch, float type), with messages naming the kernel and the buffer.
/// </summary>
internal static class KernelOperands
{
    /// <summary>
    /// Checks <paramref name="inputs"/> against <paramref name="kernel"/>'s input buffers (a null accumulator, a GEMM's product not
    /// made yet, is skipped); returns the output buffers' shapes and types.
    /// </summary>
    public static (Shape Shape, DType DType)[] Check(GeneratedKernel kernel, int batch, DType io, IReadOnlyList<Tensor?> inputs)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(inputs);
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, $"{kernel.Name}: the batch must be at least 1");
        if (io is not (DType.Float32 or DType.Float16)) throw new TensorMismatchException($"{kernel.Name} io", "float32 or float16", io.ShortName());
        var buffers = kernel.Ir.Inputs.ToList();
        if (inputs.Count != buffers.Count)
            throw new FusionException($"kernel {kernel.Name} takes {buffers.Count} inputs ({string.Join(", ", buffers.Select(b => b.Name))}), {inputs.Count} given");
        for (int i = 0; i < buffers.Count; i++)
        {
            var b = buffers[i];
            if (inputs[i] is null && b.Role == BufferRole.Accumulator) continue;
            var t = inputs[i] ?? throw new ArgumentNullException(nameof(inputs), $"kernel {kernel.Name}: input {b.Name} is null");
            var shape = ShapeOf(b, batch, kernel);
            bool typeOk = b.Role == BufferRole.Accumulator ? t.DType is DType.Float32 or DType.Float16 : t.DType == LoopInterpreter.Resolve(b.Type, io);
            if (t.Shape != shape || !typeOk)
            {
                string type = b.Role == BufferRole.Accumulator ? "f32|f16" : LoopInterpreter.Resolve(b.Type, io).ShortName();
                throw new TensorMismatchException($"{kernel.Name} input {b.Name}", $"{type}{shape}", $"{t.DType.ShortName()}{t.Shape}");
            }
        }
        return kernel.Ir.Outputs.Select(b => (ShapeOf(b, batch, kernel), LoopInterpreter.Resolve(b.Type, io))).ToArray();
    }

    /// <summary>
    /// Checks a GEMM's x [..., K] and weight [N, K] against <paramref name="kernel"/> and returns the epilogue's inputs in buffer
    /// order with <paramref name="product"/> (the GEMM's result, [..., N]) at the accumulator's place.
    /// </summary>
    public static Tensor[] EpilogueInputs(GemmKernel kernel, Tensor? product, IReadOnlyList<Tensor> epilogueInputs) =>
        EpilogueInputs($"GEMM {kernel.Name}", kernel.Epilogue, product, epilogueInputs);

    /// <summary>
    /// A template's epilogue inputs in buffer order: <paramref name="result"/> (the template's result, which may not exist yet) at the
    /// accumulator's place, <paramref name="epilogueInputs"/> at the others; <paramref name="owner"/> names the template in errors.
    /// </summary>
    public static Tensor[] EpilogueInputs(string owner, GeneratedKernel epilogue, Tensor? result, IReadOnlyList<Tensor> epilogueInputs)
    {
        ArgumentNullException.ThrowIfNull(epilogueInputs);
        var buffers = epilogue.Ir.Inputs.ToList();
        int given = buffers.Count(b => b.Role != BufferRole.Accumulator);
        if (epilogueInputs.Count != given)
            throw new FusionException($"{owner}: its epilogue takes {given} inputs, {epilogueInputs.Count} given");
        int next = 0;
        var ordered = new Tensor[buffers.Count];
        for (int i = 0; i < buffers.Count; i++) ordered[i] = buffers[i].Role == BufferRole.Accumulator ? result! : epilogueInputs[next++];
        return ordered;
    }

    /// <summary>
    /// Checks x [..., K] and weight [N, K] of <paramref name="kernel"/> (float, both of one type; int8 or e4m3 for an int8 or FP8 kernel); returns
    /// the product's shape [..., N].
    /// </summary>
    public static Shape Product(GemmKernel kernel, Tensor x, Tensor weight)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        Shape product;
        bool typeOk = kernel.Int8 || kernel.Fp8 ? x.DType == kernel.OperandType : x.DType is DType.Float32 or DType.Float16;
        if (kernel.Conv is { } conv)
        {
            // An implicit-GEMM convolution reads its channels-last image; the product is [batch, OH, OW, N].
            if (x.Rank != 4 || x.Shape[1] != conv.Height || x.Shape[2] != conv.Width || x.Shape[3] != conv.Channels || !typeOk)
                throw new TensorMismatchException($"{kernel.Name} x", $"{(kernel.Int8 ? "int8" : "float")}[batch, {conv.Height}, {conv.Width}, {conv.Channels}] (the convolution's channels-last image)", $"{x.DType.ShortName()}{x.Shape}");
            product = new Shape(x.Shape[0], conv.OutHeight, conv.OutWidth, kernel.N);
        }
        else
        {
            if (x.Rank < 1 || x.Shape[-1] != kernel.K || !typeOk)
                throw new TensorMismatchException($"{kernel.Name} x", $"[..., {kernel.K}] {(kernel.Int8 ? "int8 (an int8 GEMM)" : kernel.Fp8 ? "e4m3 (an FP8 GEMM)" : "float")}", $"{x.DType.ShortName()}{x.Shape}");
            product = x.Shape.With(-1, kernel.N);
        }
        if (weight.Shape != new Shape(kernel.N, kernel.K) || weight.DType != x.DType)
            throw new TensorMismatchException($"{kernel.Name} weight", $"{x.DType.ShortName()}[{kernel.N}, {kernel.K}]", $"{weight.DType.ShortName()}{weight.Shape}");
        return product;
    }

    private static Shape ShapeOf(KernelBuffer b, int batch, GeneratedKernel kernel)
    {
        var dims = new int[b.Shape.Count];
        for (int i = 0; i < dims.Length; i++)
        {
            long d = b.Shape[i].At(batch);
            if (d > int.MaxValue) throw new FusionException($"kernel {kernel.Name}: buffer {b.Name} has an axis of {d} elements at batch {batch}");
            dims[i] = (int)d;
        }
        return new Shape(dims);
    }
}
