using Fusion.Compiler;
using Fusion.Testing;
using RefData = Fusion.Testing.TestData;

namespace Fusion.Cuda.Tests;

/// <summary>A tolerance |gpu − cpu| ≤ Atol + Rtol·|cpu|.</summary>
internal readonly record struct Tol(double Atol, double Rtol)
{
    public override string ToString() => $"{Atol:G3} + {Rtol:G3}·|cpu|";
}

/// <summary>
/// Runs a compiled kernel (generated from the loop IR, or a GEMM with its generated epilogue) on the CUDA backend and on the CPU
/// backend (which interprets the same IR) on the same random inputs, and compares every output.
/// </summary>
internal static class KernelChecks
{
    /// <summary>
    /// fp16 outputs of a generated kernel: both backends compute in float32 from the same inputs and round once on store. Their
    /// float32 values differ by a few float32 ulps (the GPU's rsqrt.approx and ex2.approx are within 2 ulp, erf and tanh are fits
    /// good to ~1e-7, and reductions sum in another order), which can put them on the two sides of an fp16 rounding boundary:
    /// one fp16 ulp apart, at most 2⁻¹⁰·|v| (9.8e-4 relative). 2e-3 relative is two ulps, and 2e-3 absolute covers results near zero.
    /// </summary>
    public static readonly Tol Half = new(2e-3, 2e-3);

    /// <summary>
    /// float32 outputs of a generated kernel: no rounding to a coarser type, so only those few-ulp differences remain (≈1e-7
    /// relative; a LayerNorm's mean and variance summed in another order shift its result by ~1e-7 of the row's spread). 1e-5
    /// relative and absolute leave two orders of magnitude of room and still catch any wrong index, operand or constant.
    /// </summary>
    public static readonly Tol Float = new(1e-5, 1e-5);

    /// <summary>
    /// A fp16 GEMM (or any GEMM whose output is fp16) against the CPU's, which multiplies in float32 and runs the same epilogue IR:
    /// <list type="bullet">
    /// <item>Both round the result to fp16 once (half an ulp each, at most 2⁻¹¹·|out|); the two float32 products differ only by
    /// summation order (the tensor cores' or cuBLASLt's against the CPU's, ≈1e-5 for K ≤ 384).</item>
    /// <item>The product may be rounded to fp16 before the rest of the epilogue on the cuBLASLt path: it stores the product for the
    /// epilogue kernel, or stores bias + activation before adding the residual in place (the CPU keeps it float32). With
    /// |product| ≤ |out| + |bias| + |residual| and inputs in [−1, 1), all roundings together stay under 2⁻¹⁰·(2·|out| + 2), i.e.
    /// 1.95e-3·|out| + 2e-3.</item>
    /// <item>cuBLASLt's GELU is the tanh form, within 4.7e-4 absolute of the erf form the CPU computes.</item>
    /// </list>
    /// Results reach about ±25 at K = 384. 4e-3 + 3e-3·|cpu| bounds all of it with room to spare (measured on an H200: at most 0.76 of
    /// it), while a missing bias or residual (errors up to 1), a wrong activation (≥ 0.17 somewhere in [−1, 1]) or a mis-indexed
    /// element is far outside.
    /// </summary>
    public static readonly Tol HalfGemm = new(4e-3, 3e-3);

    /// <summary>
    /// A float32 GEMM: cuBLASLt (CUBLAS_COMPUTE_32F, no TF32) against the CPU's float32 product, both summing K ≤ 384 products of
    /// values in [−1, 1) in different orders (errors ≈ 1e-5 at most), then the same epilogue in float32.
    /// </summary>
    public static readonly Tol FloatGemm = new(1e-4, 1e-4);

    /// <summary>The tolerance of a generated kernel's output of <paramref name="dtype"/>.</summary>
    public static Tol ForOutput(DType dtype) => dtype == DType.Float16 ? Half : Float;

    public static int[] ShapeAt(KernelBuffer buffer, int batch) => buffer.Shape.Select(d => checked((int)d.At(batch))).ToArray();

    public static DType TypeOf(KernelBuffer buffer, DType io) => LoopInterpreter.Resolve(buffer.Type, io);

    /// <summary>
    /// Random values for each of the kernel's input buffers (accumulators included) at <paramref name="batch"/>, in their types: uniform in
    /// [−1, 1), or in the range <paramref name="range"/> gives for the buffer (by index and declaration).
    /// </summary>
    public static CpuTensor[] RandomInputs(GeneratedKernel kernel, int batch, DType io, int seed, Func<int, KernelBuffer, (double Low, double High)>? range = null) =>
        kernel.Ir.Inputs.Select((b, i) =>
        {
            var (low, high) = range?.Invoke(i, b) ?? (-1, 1);
            return RefData.Uniform(seed + i, low, high, ShapeAt(b, batch)).ToCpu(TypeOf(b, io));
        }).ToArray();

    /// <summary>A host tensor of uniform values in [−1, 1), rounded to <paramref name="dtype"/>.</summary>
    public static CpuTensor Random(int seed, DType dtype, params int[] shape) => RefData.Random(seed, dtype, shape).ToCpu(dtype);

    /// <summary>Same dtype and shape, and every element within <paramref name="tol"/> (no NaN or infinity on either side).</summary>
    public static void AssertClose(CpuTensor actual, CpuTensor expected, Tol tol, string what)
    {
        Assert.True(expected.DType == actual.DType, $"{what}: dtype {actual.DType.ShortName()}, expected {expected.DType.ShortName()}");
        Assert.True(expected.Shape == actual.Shape, $"{what}: shape {actual.Shape}, expected {expected.Shape}");
        Tolerance.AssertClose(RefTensor.FromCpu(actual), RefTensor.FromCpu(expected), tol.Atol, tol.Rtol, $"{what} (tolerance {tol})");
    }

    /// <summary>Within <paramref name="tol"/> where the CPU's value is finite; the very same NaN or infinity where it is not.</summary>
    public static void AssertCloseAllowingMatchedNonFinite(CpuTensor actual, CpuTensor expected, Tol tol, string what)
    {
        Assert.True(expected.DType == actual.DType && expected.Shape == actual.Shape, $"{what}: {actual.DType.ShortName()}{actual.Shape}, expected {expected.DType.ShortName()}{expected.Shape}");
        var a = RefTensor.FromCpu(actual).Data;
        var e = RefTensor.FromCpu(expected).Data;
        for (int i = 0; i < e.Length; i++)
        {
            bool ok = double.IsFinite(e[i])
                ? double.IsFinite(a[i]) && Math.Abs(a[i] - e[i]) <= tol.Atol + tol.Rtol * Math.Abs(e[i])
                : double.IsNaN(e[i]) ? double.IsNaN(a[i]) : a[i] == e[i];
            Assert.True(ok, $"{what}: element {i} is {a[i]:R}, the CPU has {e[i]:R} (tolerance {tol})");
        }
    }

    /// <summary>
    /// Makes the next device allocations of these sizes NaN-filled: the caching allocator hands the most recently freed block of a
    /// size back first (one stack per block size, smallest fitting size first), so outputs a backend allocates next are these
    /// blocks, and an element its kernel never writes stays NaN and fails the comparison. Returns the blocks' addresses.
    /// </summary>
    public static HashSet<ulong> PoisonNextAllocations(CudaDevice device, IEnumerable<(Shape Shape, DType DType)> tensors)
    {
        var blocks = tensors.Select(t => CudaTensor.Empty(device, t.DType, t.Shape)).ToList();
        var pointers = new HashSet<ulong>();
        foreach (var b in blocks)
        {
            b.FillBytes(0xFF); // NaN in both float types
            pointers.Add(b.Pointer);
        }
        for (int i = blocks.Count - 1; i >= 0; i--) blocks[i].Dispose();
        return pointers;
    }

    /// <summary>
    /// Runs <paramref name="kernel"/> through <see cref="CudaBackend.Run"/> and <see cref="CpuBackend.Run"/> on <paramref name="inputs"/>
    /// and compares each output within <paramref name="tolerance"/> (by default <see cref="ForOutput"/> of its dtype).
    /// </summary>
    /// <param name="matchNonFinite">Accept a NaN or infinity where the CPU has the same one (operators that produce them on purpose).</param>
    public static void GpuMatchesCpu(CudaBackend cuda, GeneratedKernel kernel, int batch, DType io, IReadOnlyList<CpuTensor> inputs, string what,
        Func<DType, Tol>? tolerance = null, bool matchNonFinite = false)
    {
        var expected = CpuBackend.Instance.Run(kernel, batch, io, [.. inputs]);
        var devices = inputs.Select(cuda.FromHost).ToArray();
        Tensor[] actual = [];
        try
        {
            var poisoned = PoisonNextAllocations(cuda.CudaDevice, expected.Select(e => (e.Shape, e.DType)));
            actual = cuda.Run(kernel, batch, io, devices);
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < actual.Length; i++)
            {
                var device = Assert.IsType<CudaTensor>(actual[i]);
                Assert.True(poisoned.Contains(device.Pointer), $"{what}: output {i} did not get a NaN-filled block (the allocator's reuse order changed?)");
                using var back = cuda.ToHost(device);
                var tol = (tolerance ?? ForOutput)(back.DType);
                var label = $"{what} output {i} ({kernel.Name}, batch {batch}, io {io.ShortName()})";
                if (matchNonFinite) AssertCloseAllowingMatchedNonFinite(back, (CpuTensor)expected[i], tol, label);
                else AssertClose(back, (CpuTensor)expected[i], tol, label);
            }
        }
        finally
        {
            foreach (var t in actual) t.Dispose();
            foreach (var t in devices) t.Dispose();
            foreach (var t in expected) t.Dispose();
        }
    }

    /// <summary>
    /// Runs <paramref name="kernel"/> through <see cref="IBackend.Gemm"/> on the CUDA backend (whatever path its policy takes) and on the
    /// CPU backend on the same operands, and compares each output within <paramref name="tolerance"/>.
    /// </summary>
    public static void GemmMatchesCpu(CudaBackend cuda, GemmKernel kernel, int batch, DType io, CpuTensor x, CpuTensor weight,
        IReadOnlyList<CpuTensor> epilogueInputs, Tol tolerance, string what)
    {
        var expected = CpuBackend.Instance.Gemm(kernel, batch, io, x, weight, [.. epilogueInputs]);
        var operands = new[] { x, weight }.Concat(epilogueInputs).Select(cuda.FromHost).ToArray();
        Tensor[] actual = [];
        try
        {
            // The fp16 path allocates its outputs first: poison them (the float32 path allocates the product first, best effort there).
            PoisonNextAllocations(cuda.CudaDevice, expected.Select(e => (e.Shape, e.DType)));
            actual = cuda.Gemm(kernel, batch, io, operands[0], operands[1], operands[2..]);
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < actual.Length; i++)
            {
                using var back = cuda.ToHost(actual[i]);
                AssertClose(back, (CpuTensor)expected[i], tolerance, $"{what} output {i} ({kernel.Name}, batch {batch}, io {io.ShortName()})");
            }
        }
        finally
        {
            foreach (var t in actual) t.Dispose();
            foreach (var t in operands) t.Dispose();
            foreach (var t in expected) t.Dispose();
        }
    }

    /// <summary>
    /// Random operands for <paramref name="kernel"/> at <paramref name="batch"/>: x shaped like the epilogue's product buffer ("acc") with
    /// K columns (an implicit-GEMM convolution: its channels-last image, batch images, fp16), the weight [N, K] of the product's type, and
    /// the epilogue's other inputs in order.
    /// </summary>
    public static (CpuTensor X, CpuTensor Weight, CpuTensor[] EpilogueInputs) RandomGemmOperands(GemmKernel kernel, int batch, DType io, int seed)
    {
        var acc = kernel.Epilogue.Ir.Inputs.Single(b => b.Role == BufferRole.Accumulator);
        var dtype = TypeOf(acc, io);
        var xShape = ShapeAt(acc, batch);
        xShape[^1] = kernel.K;
        if (kernel.Conv is { } conv) (xShape, dtype) = ([batch, conv.Height, conv.Width, conv.Channels], DType.Float16);
        var x = Random(seed, dtype, xShape);
        var w = Random(seed + 1, dtype, kernel.N, kernel.K);
        var rest = kernel.Epilogue.Ir.Inputs.Where(b => b.Role != BufferRole.Accumulator)
            .Select((b, i) => Random(seed + 2 + i, TypeOf(b, io), ShapeAt(b, batch))).ToArray();
        return (x, w, rest);
    }

    /// <summary>The tolerance of a GEMM's outputs: fp16 when its operands or its output are fp16, else float32.</summary>
    public static Tol ForGemm(GemmKernel kernel, DType io)
    {
        var acc = kernel.Epilogue.Ir.Inputs.Single(b => b.Role == BufferRole.Accumulator);
        bool half = TypeOf(acc, io) == DType.Float16 || kernel.Epilogue.Ir.Outputs.Any(b => TypeOf(b, io) == DType.Float16);
        return half ? HalfGemm : FloatGemm;
    }

    public static void DisposeAll(IEnumerable<Tensor> tensors)
    {
        foreach (var t in tensors) t.Dispose();
    }
}
