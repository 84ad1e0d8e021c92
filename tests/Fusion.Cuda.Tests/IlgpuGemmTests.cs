using Fusion.Compiler;
using Fusion.Cuda.Gemm;
using Fusion.Cuda.Generated;
using Fusion.Ilgpu;
using Fusion.Kernels;
using Fusion.Testing;

namespace Fusion.Cuda.Tests;

/// <summary>
/// GEMMs with their ILGPU versions printed here (<see cref="IlgpuGemmPrinter"/>) and compiled with Roslyn, on odd shapes the Swin
/// layers do not have: N = 40 (a partial 64-column tile, columns past N never stored), K = 36 (x rows not 16-byte aligned: the
/// half-at-a-time path; the weight padded to KW = 40), N = 100 (two 96-column tiles, the second nearly empty) and N = 33 (odd: the
/// epilogue goes element by element, not in column pairs), each with a different epilogue (layer scale and residual; residual and a
/// cast to the run's type; bias and GELU; bias, ReLU and residual). Their rows are the batch, so a test picks m.
/// </summary>
internal static class IlgpuGemms
{
    private static readonly Lazy<IReadOnlyList<GemmKernel>> s_kernels = new(Build);

    public static IReadOnlyList<GemmKernel> All => s_kernels.Value;

    public static GemmKernel Get(string name) => All.Single(k => k.Name == name);

    /// <summary>
    /// The implicit-GEMM convolutions of <see cref="Fusion.Runtime.Tests.ImplicitConvNet"/> (3 × 3 with a residual, stride 2, a 1 × 1 stride-2 shortcut, dilation 2
    /// with GELU; C = 24 and 40; 9 × 11 and 5 × 6 outputs), whose ILGPU versions the generator printed.
    /// </summary>
    /// <summary>The Half plan's implicit GEMMs (the Float plan's, named …_f32, run on the CPU's GEMM or cuBLASLt: no ILGPU form).</summary>
    public static IEnumerable<GemmKernel> Convolutions() => Fusion.Runtime.Tests.ImplicitConvNet.Kernels.OfType<GemmKernel>()
        .Where(k => k.Conv is not null && !k.Name.EndsWith("_f32", StringComparison.Ordinal));

    /// <summary>
    /// int8 GEMMs (<see cref="GemmKernels.LinearInt8"/>, printed here in the int8 form): N = 29 and K = 13 (odd: x rows read as byte
    /// pairs, the last pair half past K; KW = 16; the epilogue element by element), N = 96 and K = 64 (one k-step of 16-byte chunks;
    /// bias, ReLU and a residual in fp16), N = 45 and K = 40 (K % 16 == 8: rows not whole chunks in int8, KW = 48; bias and GELU).
    /// </summary>
    public static IReadOnlyList<GemmKernel> Int8 => s_int8.Value;

    private static readonly Lazy<IReadOnlyList<GemmKernel>> s_int8 = new(() => Printed("IlgpuInt8Gemms",
    [
        GemmKernels.LinearInt8(29, 13, bias: false, Activation.None, residual: false, DType.Float32),
        GemmKernels.LinearInt8(96, 64, bias: true, Activation.Relu, residual: true, DType.Float16),
        GemmKernels.LinearInt8(45, 40, bias: true, Activation.Gelu, residual: false, DType.Float32),
    ], int8: true));

    /// <summary>
    /// The int8 GEMMs the Int8 plan of <see cref="Fusion.Runtime.Tests.Quantization.Fp8Mlp"/> generated (fc1 + GELU storing fc2's int8
    /// input, fc2 + residual, the head), with the ILGPU versions the generator printed.
    /// </summary>
    public static IEnumerable<GemmKernel> Int8Plan() => Fusion.Runtime.Tests.Quantization.Fp8Mlp.Kernels.OfType<GemmKernel>().Where(k => k.Int8);

    /// <summary>
    /// The implicit int8 convolutions of <see cref="Fusion.Runtime.Tests.Int8ConvNet"/>'s Int8 plan (3 × 3 with a residual, stride 2 with
    /// batch norm, its 1 × 1 stride-2 shortcut, dilation 2 with GELU; 32 or 64 channels, 16 codes a chunk), epilogues quantizing the
    /// next layer's input where the plan put it there.
    /// </summary>
    public static IEnumerable<GemmKernel> Int8Convolutions() => Fusion.Runtime.Tests.Int8ConvNet.Kernels.OfType<GemmKernel>().Where(k => k.Int8 && k.Conv is not null);

    /// <summary>Runtime-built kernels with their ILGPU versions printed into one Roslyn-compiled class each.</summary>
    private static IReadOnlyList<GemmKernel> Printed(string name, GemmKernel[] kernels, bool int8)
    {
        var classes = string.Concat(kernels.Select((k, i) => $"public static class G{i}\n{{\n{IlgpuGemmPrinter.PrintAll(k.Name, k.N, k.K, k.Epilogue.Ir, int8: int8)}}}\n"));
        var assembly = PrintedIlgpu.Compile(name, classes);
        return kernels.Select((k, i) => new GemmKernel(k.Name, k.N, k.K, k.KW, k.CudaSource, k.Epilogue, k.Cublas,
            assembly.GetType($"{name}.G{i}", throwOnError: true), int8: k.Int8)).ToList();
    }

    /// <summary>The Swin-T stage-1 blocks' GEMMs, whose ILGPU versions the generator printed (the fp16 plan's: x is fp16).</summary>
    public static IEnumerable<GemmKernel> SwinBlocks() =>
        GeneratedKernelCatalog.SwinBlockKernels.OfType<GemmKernel>().Where(k => k.Epilogue.Ir.Inputs.Single(b => b.Role == BufferRole.Accumulator).Type == FloatType.F16);

    private static IReadOnlyList<GemmKernel> Build() => Printed("IlgpuGemms",
    [
        CustomGemms.LayerScaleResidual(40, 40).Kernel,
        CustomGemms.ResidualCastToIo(96, 36).Kernel,
        GemmKernels.Linear(100, 64, bias: true, Activation.Gelu, residual: false),
        GemmKernels.Linear(33, 24, bias: true, Activation.Relu, residual: true),
    ], int8: false);

    /// <summary>
    /// Random int8 operands for an int8 GEMM: x [m, K] (or the plan's rows) and w [N, K] codes in [−127, 127], the per-channel dequantize factor in
    /// [1e-4, 1e-3) (so the results are of order one), the other epilogue inputs uniform in [−1, 1).
    /// </summary>
    public static (CpuTensor X, CpuTensor Weight, CpuTensor[] EpilogueInputs) Int8Operands(GemmKernel kernel, int m, DType io, int seed)
    {
        var random = new Random(seed);
        CpuTensor Codes(params int[] shape)
        {
            var t = CpuTensor.Zeros(DType.Int8, shape);
            foreach (ref var c in t.Span<sbyte>()) c = (sbyte)random.Next(-127, 128);
            return t;
        }
        // x shaped as the product's rows (a plan's [batch, tokens, K]); the dequantize scale is the epilogue's first input.
        var (x, w, rest) = KernelChecks.RandomGemmOperands(kernel, m, io, seed);
        int[] shape = [.. Enumerable.Range(0, x.Rank).Select(d => x.Shape[d])];
        KernelChecks.DisposeAll([x, w]);
        // The dequantize factor: the float32 [N] input (LinearInt8's first; a plan's per-channel constant sₓ·s_w).
        var factor = rest.First(t => t.DType == DType.Float32 && t.Rank == 1 && t.Shape[0] == kernel.N).Span<float>();
        for (int j = 0; j < factor.Length; j++) factor[j] = (float)(1e-4 + 9e-4 * random.NextDouble());
        return (Codes(shape), Codes(kernel.N, kernel.K), rest);
    }
}

/// <summary>
/// The ILGPU GEMM template where no GPU is needed. Its PTX (ILGPU headless, with Fusion's tensor-core code generators) holds the
/// template's instructions with every operand in a register: mma.sync, ldmatrix and cp.async present, no local memory at all. And it
/// runs on ILGPU's CPU accelerator (the instructions as their lane-by-lane definitions) on fresh random operands against the CPU
/// backend's GEMM and epilogue: m = 130 (two row tiles, the second with 2 rows) or 37 (one partial tile), fp16 outputs within
/// <see cref="KernelChecks.HalfGemm"/>, float32 ones within <see cref="KernelChecks.FloatGemm"/>. The Swin blocks' own GEMMs are only
/// compiled here (at batch 1 their 3136 rows take minutes on the CPU accelerator); the GPU tests run them.
/// </summary>
public sealed class IlgpuGemmTests : IClassFixture<IlgpuKernelTests.Runner>
{
    private readonly IlgpuCpuRunner _cpu;

    public IlgpuGemmTests(IlgpuKernelTests.Runner runner) => _cpu = runner.Cpu;

    public static TheoryData<string, int, DType> Runs()
    {
        var data = new TheoryData<string, int, DType>();
        // About 10 s a run on a 2-core machine (each of 256 threads a .NET thread, every shuffle a barrier): the first kernel takes
        // two row tiles, the others one, each in every io type.
        foreach (var (kernel, i) in IlgpuGemms.All.Select((k, i) => (k, i)))
            foreach (var io in kernel.Epilogue.IoTypes)
                data.Add(kernel.Name, i == 0 ? 130 : 37, io);
        return data;
    }

    [Theory]
    [MemberData(nameof(Runs))]
    public void IlgpuGemmOnTheCpuAcceleratorMatchesTheCpuBackend(string name, int m, DType io)
    {
        var kernel = IlgpuGemms.Get(name);
        var (x, w, epilogue) = KernelChecks.RandomGemmOperands(kernel, m, io, Random.Shared.Next());
        var expected = CpuBackend.Instance.Gemm(kernel, m, io, x, w, [.. epilogue]);
        var actual = _cpu.RunGemm(kernel, m, io, x, w, epilogue);
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < actual.Length; i++)
            KernelChecks.AssertClose(actual[i], (CpuTensor)expected[i], KernelChecks.ForGemm(kernel, io), $"{name} (ILGPU CPU accelerator, m {m}, io {io.ShortName()}) output {i}");
        KernelChecks.DisposeAll([x, w, .. epilogue, .. expected, .. actual]);
    }

    public static TheoryData<string, int> Int8Runs()
    {
        var data = new TheoryData<string, int>();
        foreach (var (kernel, i) in IlgpuGemms.Int8.Select((k, i) => (k, i))) data.Add(kernel.Name, i == 0 ? 130 : 37);
        return data;
    }

    /// <summary>
    /// The int8 form on the CPU accelerator against the CPU backend (the exact integer GEMM, then the epilogue in float32): m = 130 (two
    /// row tiles) or 37. The product alone is compared bit for bit (both sides round each int32 sum to the nearest float and multiply by
    /// the same scale); the others within the GEMM tolerances (the GELU's erf differs between the two).
    /// </summary>
    [Theory]
    [MemberData(nameof(Int8Runs))]
    public void IlgpuInt8GemmOnTheCpuAcceleratorMatchesTheCpuBackend(string name, int m)
    {
        var kernel = IlgpuGemms.Int8.Single(k => k.Name == name);
        Assert.True(kernel.Int8);
        var (x, w, epilogue) = IlgpuGemms.Int8Operands(kernel, m, DType.Float16, Random.Shared.Next());
        var expected = CpuBackend.Instance.Gemm(kernel, m, DType.Float16, x, w, [.. epilogue]);
        var actual = _cpu.RunGemm(kernel, m, DType.Float16, x, w, epilogue);
        Assert.Equal(expected.Length, actual.Length);
        bool exact = kernel.Epilogue.Ir.Inputs.Count() == 2; // the accumulator and the scale: float(sum)·scale
        for (int i = 0; i < actual.Length; i++)
        {
            if (exact) Assert.Equal(((CpuTensor)expected[i]).Span<float>().ToArray(), actual[i].Span<float>().ToArray());
            KernelChecks.AssertClose(actual[i], (CpuTensor)expected[i], KernelChecks.ForGemm(kernel, DType.Float16), $"{name} (ILGPU CPU accelerator, int8, m {m}) output {i}");
        }
        KernelChecks.DisposeAll([x, w, .. epilogue, .. expected, .. actual]);
    }

    /// <summary>
    /// The Int8 plan's GEMMs of the MLP as the generator printed them (fc1's epilogue quantizes its GELU output to int8 for fc2) on the
    /// CPU accelerator at batch 2 (14 rows) against the CPU backend: int8 outputs code for code except where the float32 value before
    /// rounding sits within 1e-3 of a tie (the GELU's erf differs), the others within the GEMM tolerances.
    /// </summary>
    [Fact]
    public void TheInt8PlansGemmsOnTheCpuAcceleratorMatchTheCpuBackend()
    {
        var kernels = IlgpuGemms.Int8Plan().ToList();
        Assert.NotEmpty(kernels);
        Assert.Contains(kernels, k => k.Epilogue.Ir.Outputs.Any(b => b.Type == FloatType.I8));
        foreach (var kernel in kernels) Int8PlanGemmMatchesTheCpuBackend(kernel, 2);
    }

    /// <summary>
    /// The implicit int8 convolutions on the CPU accelerator at batch 1 and 2 (the image's codes read 16 channels of one tap a chunk,
    /// every border tap in the padding) against the CPU backend, which gathers the codes' windows and multiplies exactly; as above.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void TheImplicitInt8ConvolutionsOnTheCpuAcceleratorMatchTheCpuBackend(int batch)
    {
        var kernels = IlgpuGemms.Int8Convolutions().ToList();
        Assert.Equal(4, kernels.Count);
        Assert.Contains(kernels, k => k.Epilogue.Ir.Outputs.Any(b => b.Type == FloatType.I8));
        foreach (var kernel in kernels) Int8PlanGemmMatchesTheCpuBackend(kernel, batch);
    }

    /// <summary>
    /// One of the Int8 plan's GEMMs on the CPU accelerator against the CPU backend on random codes: int8 outputs within one code and at
    /// most 1 % differing (a float32 value within rounding of a tie: the GELU's erf differs), the others within the GEMM tolerances.
    /// </summary>
    private void Int8PlanGemmMatchesTheCpuBackend(GemmKernel kernel, int batch)
    {
        Assert.NotNull(kernel.IlgpuKernels);
        var (x, w, epilogue) = IlgpuGemms.Int8Operands(kernel, batch, DType.Float16, Random.Shared.Next());
        var expected = CpuBackend.Instance.Gemm(kernel, batch, DType.Float16, x, w, [.. epilogue]);
        var actual = _cpu.RunGemm(kernel, batch, DType.Float16, x, w, epilogue);
        for (int i = 0; i < actual.Length; i++)
        {
            if (actual[i].DType == DType.Int8)
            {
                var want = ((CpuTensor)expected[i]).Span<sbyte>().ToArray();
                var got = actual[i].Span<sbyte>().ToArray();
                int differing = want.Zip(got).Count(p => p.First != p.Second);
                Assert.True(want.Zip(got).All(p => Math.Abs(p.First - p.Second) <= 1), $"{kernel.Name} output {i}: a code off by more than one");
                Assert.True(differing <= want.Length / 100, $"{kernel.Name} output {i}: {differing} of {want.Length} codes differ");
            }
            else KernelChecks.AssertClose(actual[i], (CpuTensor)expected[i], KernelChecks.ForGemm(kernel, DType.Float16), $"{kernel.Name} (ILGPU CPU accelerator, batch {batch}) output {i}");
        }
        KernelChecks.DisposeAll([x, w, .. epilogue, .. expected, .. actual]);
    }

    /// <summary>The int8 form's PTX: mma.sync m16n8k32 on s8 with s32 accumulators, the same ldmatrix and cp.async, no local memory.</summary>
    [Fact]
    public void IlgpuInt8GemmCompilesToInt8TensorCoreInstructions()
    {
        foreach (var kernel in IlgpuGemms.Int8.Concat(IlgpuGemms.Int8Plan()).Concat(IlgpuGemms.Int8Convolutions()))
            foreach (var io in kernel.Epilogue.IoTypes)
            {
                var ptx = IlgpuPtxCompiler.Compile(kernel.IlgpuMethod(io)!, kernel.Name).Ptx;
                if (kernel.Conv is not null) Assert.Contains("cp.async.cg.shared.global", ptx); // the image's chunks, 16 codes of one tap
                Assert.Contains("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32", ptx);
                Assert.DoesNotContain("m16n8k16", ptx);
                Assert.Contains("ldmatrix.sync.aligned.m8n8.x4.shared.b16", ptx);
                Assert.Contains("cvt.rn.f32.s32", ptx);
                Assert.DoesNotContain(".local", ptx);
            }
    }

    public static TheoryData<string> Compiled() => [.. IlgpuGemms.All.Concat(IlgpuGemms.SwinBlocks()).Concat(IlgpuGemms.Convolutions()).Select(k => k.Name)];

    /// <summary>
    /// The implicit-GEMM convolutions' ILGPU versions on the CPU accelerator (batch 1 or 2: 99, 60 or 120 output pixels, one or two row
    /// tiles; every tap at the image's border reads the padding) against the CPU backend, which gathers the im2col matrix first.
    /// </summary>
    public static TheoryData<string, int> Convolutions()
    {
        var data = new TheoryData<string, int>();
        foreach (var (kernel, i) in IlgpuGemms.Convolutions().Select((k, i) => (k, i))) data.Add(kernel.Name, i % 2 + 1);
        return data;
    }

    [Theory]
    [MemberData(nameof(Convolutions))]
    public void IlgpuImplicitGemmConvolutionOnTheCpuAcceleratorMatchesTheCpuBackend(string name, int batch)
    {
        var kernel = IlgpuGemms.Convolutions().Single(k => k.Name == name);
        Assert.NotNull(kernel.IlgpuKernels);
        var (x, w, epilogue) = KernelChecks.RandomGemmOperands(kernel, batch, DType.Float16, Random.Shared.Next());
        var expected = CpuBackend.Instance.Gemm(kernel, batch, DType.Float16, x, w, [.. epilogue]);
        var actual = _cpu.RunGemm(kernel, batch, DType.Float16, x, w, epilogue);
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < actual.Length; i++)
            KernelChecks.AssertClose(actual[i], (CpuTensor)expected[i], KernelChecks.ForGemm(kernel, DType.Float16), $"{name} (ILGPU CPU accelerator, batch {batch}) output {i}");
        KernelChecks.DisposeAll([x, w, .. epilogue, .. expected, .. actual]);
    }

    [Theory]
    [MemberData(nameof(Compiled))]
    public void IlgpuGemmCompilesToTensorCoreInstructionsOnRegisters(string name)
    {
        var kernel = IlgpuGemms.All.Concat(IlgpuGemms.SwinBlocks()).Concat(IlgpuGemms.Convolutions()).Single(k => k.Name == name);
        Assert.NotNull(kernel.IlgpuKernels);
        foreach (var io in kernel.Epilogue.IoTypes)
        {
            var method = kernel.IlgpuMethod(io)!;
            var (ptx, entry) = IlgpuPtxCompiler.Compile(method, kernel.Name);
            Assert.Equal(IlgpuPtxCompiler.EntryName(method), entry);
            Assert.Contains("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32", ptx);
            Assert.Contains("ldmatrix.sync.aligned.m8n8.x4.shared.b16", ptx);
            Assert.Contains("cp.async.cg.shared.global", ptx);
            Assert.Contains("cp.async.wait_group 1;", ptx);
            Assert.Contains("bar.sync", ptx);
            // Both tiles 16-byte aligned (ILGPU would align them to a half).
            Assert.Equal(2, ptx.Split(".shared .align 16 .b8").Length - 1);
            // No local memory: the accumulators and fragments stay in registers (CudaAsm would have put each operand in a depot).
            Assert.DoesNotContain(".local", ptx);
            // x, w, then one view per epilogue buffer other than the accumulator, each a 16-byte {pointer, length} parameter.
            Assert.Equal(2 + kernel.Epilogue.Ir.Buffers.Count - 1, ptx.Split(".param .align 8 .b8").Length - 1);
        }
    }

    [Fact]
    public void TheSwinBlocksGemmsHaveIlgpuVersions()
    {
        var gemms = IlgpuGemms.SwinBlocks().ToList();
        Assert.NotEmpty(gemms);
        Assert.All(gemms, g => Assert.NotNull(g.IlgpuMethod(DType.Float16)));
        // Every method of the generated class has a name of its own (the runtime finds them by name: an overload is ambiguous).
        var methods = gemms[0].IlgpuKernels!.GetMethods(System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.DeclaredOnly);
        Assert.Empty(methods.GroupBy(m => m.Name).Where(g => g.Count() > 1).Select(g => g.Key));
    }

    [Fact]
    public void AGemmBuiltAtRunTimeHasNoIlgpuVersion()
    {
        var kernel = GemmKernels.Linear(64, 32, bias: true, Activation.None, residual: false);
        Assert.Null(kernel.IlgpuMethod(DType.Float16));
        using var x = CpuTensor.Zeros(DType.Float16, 3, 32);
        using var w = CpuTensor.Zeros(DType.Float16, 64, 32);
        using var bias = CpuTensor.Zeros(DType.Float16, 64);
        var e = Assert.Throws<FusionException>(() => _cpu.RunGemm(kernel, 3, DType.Float16, x, w, bias));
        Assert.Contains($"GEMM kernel {kernel.Name} has no ILGPU version", e.Message);
    }
}

/// <summary>
/// The ILGPU GEMM template on the GPU (FUSION_KERNELS=ilgpu, GEMM policy generated): the odd-shaped GEMMs above at m = 37 and 1000 and
/// the Swin blocks' GEMMs at batch 1 and 3, in each io type, compiled by ILGPU, linked by the driver and launched by Fusion, against
/// the CPU backend (GPU outputs start as NaN, so an element the kernel skips fails).
/// </summary>
public sealed class IlgpuGemmGpuTests(GemmKernelFolder folder) : GpuTestBase, IClassFixture<GemmKernelFolder>
{
    public static TheoryData<string, int, DType> Runs()
    {
        var data = new TheoryData<string, int, DType>();
        foreach (var kernel in IlgpuGemms.All)
            foreach (int m in new[] { 37, 1000 })
                foreach (var io in kernel.Epilogue.IoTypes)
                    data.Add(kernel.Name, m, io);
        foreach (var kernel in IlgpuGemms.SwinBlocks().Concat(IlgpuGemms.Convolutions()))
            foreach (int batch in new[] { 1, 3 })
                data.Add(kernel.Name, batch, DType.Float16);
        return data;
    }

    public static TheoryData<string, int> Int8Runs()
    {
        var data = new TheoryData<string, int>();
        foreach (var kernel in IlgpuGemms.Int8.Concat(IlgpuGemms.Int8Plan()))
            foreach (int m in new[] { 37, 1000 })
                data.Add(kernel.Name, m);
        foreach (var kernel in IlgpuGemms.Int8Convolutions())
            foreach (int batch in new[] { 1, 3 })
                data.Add(kernel.Name, batch);
        return data;
    }

    /// <summary>
    /// The int8 form on the GPU (FUSION_KERNELS=ilgpu): the int8 GEMMs above and the Int8 plan's at m = 37 and 1000 (a plan's GEMM
    /// takes m as its batch), the implicit int8 convolutions at batch 1 and 3, against the CPU backend, as on the CPU accelerator: the product alone bit for bit; int8 outputs within one
    /// code; the rest within the GEMM tolerances (the GPU may contract the dequantize and the bias into one fma).
    /// </summary>
    [Theory]
    [MemberData(nameof(Int8Runs))]
    public void IlgpuInt8GemmOnTheGpuMatchesTheCpu(string name, int m)
    {
        var kernel = IlgpuGemms.Int8.Concat(IlgpuGemms.Int8Plan()).Concat(IlgpuGemms.Int8Convolutions()).Single(k => k.Name == name);
        using var cuda = new CudaBackend(Device, new KernelCache(folder.Path), GemmPolicy.Generated);
        cuda.Generated.Language = KernelLanguage.Ilgpu;
        var (x, w, epilogue) = IlgpuGemms.Int8Operands(kernel, m, DType.Float16, Rng.Next());
        var expected = CpuBackend.Instance.Gemm(kernel, m, DType.Float16, x, w, [.. epilogue]);
        var operands = new[] { x, w }.Concat(epilogue).Select(cuda.FromHost).ToArray();
        KernelChecks.PoisonNextAllocations(cuda.CudaDevice, expected.Select(e => (e.Shape, e.DType)));
        var actual = cuda.Gemm(kernel, m, DType.Float16, operands[0], operands[1], operands[2..]);
        Assert.True(cuda.Gemms.LastRanIlgpu, $"{name}: the launch did not take the ILGPU template");
        bool exact = kernel.Epilogue.Ir.Inputs.Count() == 2; // float(sum)·scale
        for (int i = 0; i < actual.Length; i++)
        {
            using var got = cuda.ToHost(actual[i]);
            var want = (CpuTensor)expected[i];
            if (got.DType == DType.Int8)
                Assert.True(want.Span<sbyte>().ToArray().Zip(got.Span<sbyte>().ToArray()).All(p => Math.Abs(p.First - p.Second) <= 1), $"{name} output {i}: a code off by more than one");
            else if (exact && got.DType == DType.Float32) Assert.Equal(want.Span<float>().ToArray(), got.Span<float>().ToArray());
            else KernelChecks.AssertClose(got, want, KernelChecks.ForGemm(kernel, DType.Float16), $"{name} (ILGPU int8, m {m}) output {i}");
        }
        KernelChecks.DisposeAll([x, w, .. epilogue, .. expected, .. operands, .. actual]);
    }

    [Theory]
    [MemberData(nameof(Runs))]
    public void IlgpuGemmOnTheGpuMatchesTheCpu(string name, int batch, DType io)
    {
        var kernel = IlgpuGemms.All.Concat(IlgpuGemms.SwinBlocks()).Concat(IlgpuGemms.Convolutions()).Single(k => k.Name == name);
        using var cuda = new CudaBackend(Device, new KernelCache(folder.Path), GemmPolicy.Generated);
        cuda.Generated.Language = KernelLanguage.Ilgpu;
        var (x, w, epilogue) = KernelChecks.RandomGemmOperands(kernel, batch, io, Rng.Next());
        KernelChecks.GemmMatchesCpu(cuda, kernel, batch, io, x, w, epilogue, KernelChecks.ForGemm(kernel, io), name + " (ILGPU)");
        Assert.Equal(GemmPath.Generated, cuda.Gemms.LastPath);
        Assert.True(cuda.Gemms.LastRanIlgpu, $"{name}: the launch did not take the ILGPU template");
        KernelChecks.DisposeAll([x, w, .. epilogue]);
    }

    /// <summary>
    /// FUSION_KERNELS=auto with fast-run: the first call on a shape times the ILGPU template beside the NVRTC tiles and cuBLASLt, runs
    /// the fastest and stores it (the key names the language); a backend with the cached policy reads that choice and runs the same.
    /// </summary>
    [Fact]
    public void UnderAutoFastRunTimesTheIlgpuTemplateAndRemembersTheChoice()
    {
        var kernel = IlgpuGemms.SwinBlocks().First();
        const int batch = 8;
        var choices = Directory.CreateTempSubdirectory("fusion-gemm-auto-").FullName;
        try
        {
            var (x, w, epilogue) = KernelChecks.RandomGemmOperands(kernel, batch, DType.Float16, Rng.Next());
            bool ranIlgpu;
            using (var cuda = new CudaBackend(Device, new KernelCache(choices), GemmPolicy.FastRun))
            {
                cuda.Generated.Language = KernelLanguage.Auto;
                KernelChecks.GemmMatchesCpu(cuda, kernel, batch, DType.Float16, x, w, epilogue, KernelChecks.ForGemm(kernel, DType.Float16), kernel.Name + " (auto)");
                int m = checked((int)(x.Shape.ElementCount / kernel.K));
                var key = cuda.Gemms.ChoiceKey(m, kernel);
                Assert.Contains("|kernels=auto|ilgpu=", key);
                Assert.True(cuda.Gemms.Choices.TryGet(key, out var choice));
                Assert.Equal(1, cuda.Gemms.Measurements);
                ranIlgpu = cuda.Gemms.LastRanIlgpu;
                Assert.Equal(choice!.Path == GemmPath.Generated && choice.Ilgpu, ranIlgpu);
            }
            using (var cached = new CudaBackend(Device, new KernelCache(choices), GemmPolicy.Cached))
            {
                cached.Generated.Language = KernelLanguage.Auto;
                KernelChecks.GemmMatchesCpu(cached, kernel, batch, DType.Float16, x, w, epilogue, KernelChecks.ForGemm(kernel, DType.Float16), kernel.Name + " (auto, cached)");
                Assert.Equal(ranIlgpu, cached.Gemms.LastRanIlgpu);
                Assert.Equal(0, cached.Gemms.Measurements);
            }
            KernelChecks.DisposeAll([x, w, .. epilogue]);
        }
        finally
        {
            Directory.Delete(choices, recursive: true);
        }
    }
}
