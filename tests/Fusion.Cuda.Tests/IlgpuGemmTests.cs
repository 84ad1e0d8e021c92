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
    public static IEnumerable<GemmKernel> Convolutions() => Fusion.Runtime.Tests.ImplicitConvNet.Kernels.OfType<GemmKernel>().Where(k => k.Conv is not null);

    /// <summary>The Swin-T stage-1 blocks' GEMMs, whose ILGPU versions the generator printed (the fp16 plan's: x is fp16).</summary>
    public static IEnumerable<GemmKernel> SwinBlocks() =>
        GeneratedKernelCatalog.SwinBlockKernels.OfType<GemmKernel>().Where(k => k.Epilogue.Ir.Inputs.Single(b => b.Role == BufferRole.Accumulator).Type == FloatType.F16);

    private static IReadOnlyList<GemmKernel> Build()
    {
        var kernels = new[]
        {
            CustomGemms.LayerScaleResidual(40, 40).Kernel,
            CustomGemms.ResidualCastToIo(96, 36).Kernel,
            GemmKernels.Linear(100, 64, bias: true, Activation.Gelu, residual: false),
            GemmKernels.Linear(33, 24, bias: true, Activation.Relu, residual: true),
        };
        var classes = string.Concat(kernels.Select((k, i) => $"public static class G{i}\n{{\n{IlgpuGemmPrinter.PrintAll(k.Name, k.N, k.K, k.Epilogue.Ir)}}}\n"));
        var assembly = PrintedIlgpu.Compile("IlgpuGemms", classes);
        return kernels.Select((k, i) => new GemmKernel(k.Name, k.N, k.K, k.KW, k.CudaSource, k.Epilogue, k.Cublas,
            assembly.GetType($"IlgpuGemms.G{i}", throwOnError: true))).ToList();
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
