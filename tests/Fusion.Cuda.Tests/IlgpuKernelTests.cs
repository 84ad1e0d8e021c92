using Fusion.Compiler;
using Fusion.Cuda.Generated;
using Fusion.Ilgpu;
using Fusion.Testing;

namespace Fusion.Cuda.Tests;

/// <summary>The generated kernels of the compiled Swin-T stage-1 blocks that have ILGPU versions: their own and their GEMMs' epilogues.</summary>
internal static class IlgpuKernels
{
    /// <summary>The Swin blocks' generated kernels that have an ILGPU form (those reading or writing int8 codes have none yet).</summary>
    public static IEnumerable<GeneratedKernel> SwinBlocks() => GeneratedKernel.AllIn(GeneratedKernelCatalog.SwinBlockKernels).Where(k => k.IlgpuKernels is not null);

    public static GeneratedKernel SwinBlock(string name) => SwinBlocks().Single(k => k.Name == name);

    /// <summary>The outputs of <paramref name="actual"/> against the interpreter's, fp16 to <see cref="KernelChecks.Half"/>, float32 to <see cref="KernelChecks.Float"/>.</summary>
    public static void AssertOutputsClose(IReadOnlyList<Tensor> actual, IReadOnlyList<Tensor> expected, string what)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < actual.Count; i++)
        {
            var a = (CpuTensor)actual[i];
            KernelChecks.AssertClose(a, (CpuTensor)expected[i], KernelChecks.ForOutput(a.DType), $"{what} output {i}");
        }
    }
}

/// <summary>
/// The ILGPU versions of the generated kernels where no GPU is needed. Every generated kernel of the compiled Swin-T stage-1 blocks
/// compiles to PTX through ILGPU used headless, with one 16-byte array-view parameter per buffer; and runs on ILGPU's CPU accelerator
/// (batch 1; io = f16 where the kernel has io buffers, the type the GPU plan runs) on fresh random inputs against the CPU backend's
/// interpreter of the same loop IR: fp16 outputs to <see cref="KernelChecks.Half"/>, float32 ones to <see cref="KernelChecks.Float"/>
/// (both compute in float32; the ILGPU kernel's tanh and erf are the CUDA kernels' formulas, within 1.5e-7 of the interpreter's).
/// The CPU accelerator runs each GPU thread as a .NET thread, about 5 s a kernel at these sizes, so CI runs one batch and io type.
/// </summary>
public sealed class IlgpuKernelTests : IClassFixture<IlgpuKernelTests.Runner>
{
    private readonly Runner _runner;

    public IlgpuKernelTests(Runner runner) => _runner = runner;

    /// <summary>One CPU accelerator for the class (creating one starts a thread per core).</summary>
    public sealed class Runner : IDisposable
    {
        public IlgpuCpuRunner Cpu { get; } = new();

        public void Dispose() => Cpu.Dispose();
    }

    public static TheoryData<string> SwinBlockKernels() => [.. IlgpuKernels.SwinBlocks().Select(k => k.Name)];

    [Theory]
    [MemberData(nameof(SwinBlockKernels))]
    public void SwinBlockKernelOnIlgpusCpuMatchesTheInterpreter(string name)
    {
        var kernel = IlgpuKernels.SwinBlock(name);
        Assert.NotNull(kernel.IlgpuKernels);
        var io = GeneratedKernelCatalog.IoTypes(kernel)[0];
        var inputs = KernelChecks.RandomInputs(kernel, 1, io, Random.Shared.Next());
        var expected = CpuBackend.Instance.Run(kernel, 1, io, [.. inputs]);
        var actual = _runner.Cpu.Run(kernel, 1, io, inputs);
        IlgpuKernels.AssertOutputsClose(actual, expected, $"{name} (ILGPU CPU accelerator, batch 1, io {io.ShortName()})");
        KernelChecks.DisposeAll([.. inputs, .. expected, .. actual]);
    }

    [Fact]
    public void EveryGeneratedKernelCompilesToPtxThroughIlgpu()
    {
        var kernels = IlgpuKernels.SwinBlocks().ToList();
        Assert.NotEmpty(kernels);
        foreach (var kernel in kernels)
            foreach (var io in GeneratedKernelCatalog.IoTypes(kernel))
            {
                var method = kernel.IlgpuMethod(io)!;
                var (ptx, entry) = IlgpuPtxCompiler.Compile(method, kernel.Name);
                Assert.Contains(".visible .entry " + entry + "(", ptx);
                Assert.Contains(method.Name, entry);
                // One 16-byte {pointer, length} parameter per buffer, then the batch.
                Assert.Equal(kernel.Ir.Buffers.Count, ptx.Split(".param .align 8 .b8").Length - 1);
            }
    }

    /// <summary>Not a kernel ILGPU can compile (a string parameter): the error names the kernel, the method and ILGPU's reason.</summary>
    [Fact]
    public void AMethodIlgpuCannotCompileIsAnErrorNamingTheKernel()
    {
        var method = typeof(NotKernels).GetMethod(nameof(NotKernels.TakesAString), System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.NonPublic)!;
        var e = Assert.Throws<FusionException>(() => IlgpuPtxCompiler.Compile(method, "my_kernel"));
        Assert.Contains("ILGPU could not compile kernel my_kernel (NotKernels.TakesAString) to PTX: ", e.Message);
        Assert.True(e.Message.Length > "ILGPU could not compile kernel my_kernel (NotKernels.TakesAString) to PTX: ".Length + 5, e.Message);
    }

    /// <summary>A generated file older than the kernel's IR (its method missing) is refused with the way out, not a null reference.</summary>
    [Fact]
    public void AMissingIlgpuMethodSaysToRebuild()
    {
        var kernel = IlgpuKernels.SwinBlocks().First();
        var stale = new GeneratedKernel(kernel.Name, kernel.LoopIr, kernel.CudaSource, kernel.LaunchText, typeof(NotKernels));
        var e = Assert.Throws<FusionException>(() => stale.IlgpuMethod(DType.Float16));
        Assert.Contains($"generated kernel {kernel.Name}: ", e.Message);
        Assert.Contains("has no ILGPU method", e.Message);
        Assert.Contains("rebuild the project that generated it", e.Message);
        Assert.Null(new GeneratedKernel(kernel.Name, kernel.LoopIr, kernel.CudaSource, kernel.LaunchText).IlgpuMethod(DType.Float32));
    }

    /// <summary>The CPU runner checks operands as the backends do: a wrong shape names the kernel and buffer, and nothing runs.</summary>
    [Fact]
    public void TheCpuRunnerRefusesAMisshapenInput()
    {
        var kernel = IlgpuKernels.SwinBlocks().First();
        var io = GeneratedKernelCatalog.IoTypes(kernel)[0];
        var inputs = KernelChecks.RandomInputs(kernel, 1, io, 7);
        var first = kernel.Ir.Inputs.First();
        using var wrong = CpuTensor.Zeros(inputs[0].DType, 3);
        var e = Assert.Throws<TensorMismatchException>(() => _runner.Cpu.Run(kernel, 1, io, [wrong, .. inputs.Skip(1)]));
        Assert.Contains($"{kernel.Name} input {first.Name}", e.Message);
        KernelChecks.DisposeAll(inputs);
    }

    /// <summary>An array view is one parameter of two slots {pointer, length}; the parameters after it start past both.</summary>
    [Fact]
    public void AnArrayViewArgumentIsOneParameterOfSixteenBytes()
    {
        var args = new KernelArguments().Pointer(0x1000).View(0x2000, 77).Int(5).Append(new KernelArguments().View(0x3000, 9));
        Assert.Equal(4, args.Count);
        Assert.Equal([0x1000ul, 0x2000ul, 77ul, 5ul, 0x3000ul, 9ul], args.ToSlots());
        Assert.Equal([0, 1, 3, 4], args.Starts());
    }

    [Fact]
    public void TheLanguageVariableNamesItsChoices()
    {
        Assert.Equal(KernelLanguage.Nvrtc, KernelLanguages.Parse(null));
        Assert.Equal(KernelLanguage.Nvrtc, KernelLanguages.Parse(" NVRTC "));
        Assert.Equal(KernelLanguage.Ilgpu, KernelLanguages.Parse("ilgpu"));
        Assert.Equal(KernelLanguage.Auto, KernelLanguages.Parse("Auto"));
        var e = Assert.Throws<FusionException>(() => KernelLanguages.Parse("ptx"));
        Assert.Contains("FUSION_KERNELS=ptx is not one of nvrtc, ilgpu, auto", e.Message);
    }
}

/// <summary>
/// The ILGPU kernels on the GPU: every generated kernel of the compiled Swin-T blocks, compiled by ILGPU to PTX and launched by
/// Fusion's runtime (FUSION_KERNELS=ilgpu), at batch 1 and 3 in each io type, against the CPU backend's interpreter; GPU outputs
/// start as NaN, so an element the kernel skips fails. Tolerances as <see cref="GeneratedKernelGpuTests"/>.
/// </summary>
public sealed class IlgpuKernelGpuTests(GemmKernelFolder folder) : GpuTestBase, IClassFixture<GemmKernelFolder>
{
    public static TheoryData<string, int, DType> Runs()
    {
        var data = new TheoryData<string, int, DType>();
        foreach (var kernel in IlgpuKernels.SwinBlocks())
            foreach (int batch in new[] { 1, 3 })
                foreach (var io in GeneratedKernelCatalog.IoTypes(kernel))
                    data.Add(kernel.Name, batch, io);
        return data;
    }

    [Theory]
    [MemberData(nameof(Runs))]
    public void IlgpuKernelOnTheGpuMatchesTheCpu(string name, int batch, DType io)
    {
        var kernel = IlgpuKernels.SwinBlock(name);
        using var cuda = new CudaBackend(Device, new KernelCache(folder.Path));
        cuda.Generated.Language = KernelLanguage.Ilgpu;
        var inputs = KernelChecks.RandomInputs(kernel, batch, io, Rng.Next());
        KernelChecks.GpuMatchesCpu(cuda, kernel, batch, io, inputs, name + " (ILGPU)");
        Assert.True(cuda.Generated.LastRanIlgpu, $"{name}: the launch did not take the ILGPU kernel");
        KernelChecks.DisposeAll(inputs);
    }
}

/// <summary>Methods that are not kernels, for the error tests.</summary>
internal static class NotKernels
{
    internal static void TakesAString(string text, int batch) => _ = text.Length + batch;
}
