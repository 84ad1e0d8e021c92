using Fusion.Cuda.Generated;
using Fusion.Testing;

namespace Fusion.Cuda.Tests;

/// <summary>FUSION_KERNELS=auto's decision files, no GPU needed: they read back, and a damaged or foreign one is refused with a warning.</summary>
public sealed class KernelLanguageChoicesTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("fusion-language-choices-");

    [Fact]
    public void ADecisionReadsBackFromItsFile()
    {
        var choice = new KernelLanguageChoice(KernelLanguage.Ilgpu, 12.5, 11.25);
        var text = KernelLanguageChoices.Format("k1", choice);
        Assert.Equal(choice, KernelLanguageChoices.Parse(text, "k1", out _));
        Assert.Null(KernelLanguageChoices.Parse(text, "k2", out var problem));
        Assert.Equal("it holds another key", problem);
        Assert.Null(KernelLanguageChoices.Parse(text.Replace("ilgpu_us 11.25", "ilgpu_us -3"), "k1", out problem));
        Assert.Equal("unreadable language or times", problem);

        new KernelLanguageChoices(_folder.FullName).Store("k1", choice);
        Assert.True(new KernelLanguageChoices(_folder.FullName).TryGet("k1", out var read)); // a new process: from disk
        Assert.Equal(choice, read);
    }

    [Fact]
    public void ACorruptDecisionFileIsIgnoredWithAWarning()
    {
        var warnings = new List<string>();
        var choices = new KernelLanguageChoices(_folder.FullName, warnings.Add);
        File.WriteAllText(choices.PathFor("k1"), "fusion-kernel-language 1\nkey k1\nlanguage cuda\n");
        Assert.False(choices.TryGet("k1", out _));
        var warning = Assert.Single(warnings);
        Assert.Contains($"kernel language choice file {choices.PathFor("k1")} is corrupt (bad header or line count); ignored, measuring again", warning);
    }

    public void Dispose() => _folder.Delete(recursive: true);
}

/// <summary>
/// FUSION_KERNELS=auto on the GPU: the first launch of a kernel at a batch times both versions and remembers the faster, later
/// launches and later processes (a new launcher on the same folder) take the remembered one without timing; the outputs are right
/// whichever ran (timing writes scratch outputs). A kernel ILGPU cannot compile runs its NVRTC version with one warning; inside a
/// graph capture an undecided kernel runs its NVRTC version, undecided. Tolerances as <see cref="GeneratedKernelGpuTests"/>.
/// </summary>
public sealed class KernelLanguageAutoGpuTests : GpuTestBase
{
    private readonly List<string> _warnings = [];

    private GeneratedKernelLauncher Auto() => new(Jit, KernelLanguage.Auto, _warnings.Add);

    [Fact]
    public void AutoTimesBothVersionsOnceAndRemembersTheFaster()
    {
        var kernel = IlgpuKernels.SwinBlocks().First(k => k.UsesIoType || k.Ir.Buffers.Count > 2);
        var io = GeneratedKernelCatalog.IoTypes(kernel)[^1];
        bool ioHalf = kernel.UsesIoType && io == DType.Float16;
        using (var launcher = Auto())
        {
            RunAndCheck(launcher, kernel, 3, io, "first launch (timed)");
            Assert.Equal(1, launcher.Measurements);
            Assert.True(launcher.Choices.TryGet(launcher.ChoiceKey(kernel, 3, ioHalf), out var choice));
            Assert.True(choice.NvrtcMicroseconds > 0 && choice.IlgpuMicroseconds > 0, $"{choice}");
            Assert.Equal(choice.Language == KernelLanguage.Ilgpu, launcher.LastRanIlgpu);
            Assert.Equal(choice.Language, choice.IlgpuMicroseconds < choice.NvrtcMicroseconds ? KernelLanguage.Ilgpu : KernelLanguage.Nvrtc);
            RunAndCheck(launcher, kernel, 3, io, "second launch (remembered)");
            Assert.Equal(1, launcher.Measurements);
            RunAndCheck(launcher, kernel, 1, io, "another batch (timed)");
            Assert.Equal(2, launcher.Measurements);
        }
        using var later = Auto();
        RunAndCheck(later, kernel, 3, io, "a new launcher (from the file)");
        Assert.Equal(0, later.Measurements);
        Assert.Empty(_warnings);
    }

    [Fact]
    public void AKernelIlgpuCannotCompileRunsItsNvrtcVersionWithOneWarning()
    {
        var good = IlgpuKernels.SwinBlocks().First();
        var stale = new GeneratedKernel(good.Name, good.LoopIr, good.CudaSource, good.LaunchText, typeof(NotKernels));
        var io = GeneratedKernelCatalog.IoTypes(stale)[0];
        using var launcher = Auto();
        RunAndCheck(launcher, stale, 2, io, "ILGPU version missing");
        RunAndCheck(launcher, stale, 3, io, "again");
        Assert.False(launcher.LastRanIlgpu);
        Assert.Equal(0, launcher.Measurements);
        var warning = Assert.Single(_warnings);
        Assert.Contains($"generated kernel {good.Name}: ", warning);
        Assert.Contains("FUSION_KERNELS=auto runs the kernel's NVRTC version", warning);
    }

    [Fact]
    public void InsideAGraphCaptureAnUndecidedKernelRunsItsNvrtcVersionUndecided()
    {
        var kernel = IlgpuKernels.SwinBlocks().First();
        var io = GeneratedKernelCatalog.IoTypes(kernel)[0];
        using var launcher = Auto();
        var inputs = KernelChecks.RandomInputs(kernel, 2, io, Rng.Next());
        var expected = CpuBackend.Instance.Run(kernel, 2, io, [.. inputs]);
        var stream = new CudaStream(Device);
        var devices = inputs.Select(i => CudaTensor.FromHost(stream, i)).ToList();
        var outputs = expected.Select(e => CudaTensor.Empty(stream, e.DType, e.Shape)).ToList();
        stream.Synchronize();
        using (var graph = CudaGraph.Capture(stream, s => launcher.Launch(kernel, 2, io, [.. devices, .. outputs], s)))
        {
            Assert.False(launcher.LastRanIlgpu);
            graph.Launch(stream);
            stream.Synchronize();
        }
        Assert.Equal(0, launcher.Measurements);
        Assert.False(launcher.Choices.TryGet(launcher.ChoiceKey(kernel, 2, kernel.UsesIoType && io == DType.Float16), out _));
        Compare(outputs, expected, kernel, "graph replay");
        KernelChecks.DisposeAll([.. inputs, .. expected, .. devices, .. outputs]);
        stream.Dispose();
    }

    /// <summary>The ILGPU kernels' cache entries are CUBINs for this GPU (ELF), so a warm start runs no JIT.</summary>
    [Fact]
    public void TheIlgpuVersionIsCachedAsACubin()
    {
        var kernel = IlgpuKernels.SwinBlocks().First();
        var io = GeneratedKernelCatalog.IoTypes(kernel)[0];
        using var launcher = new GeneratedKernelLauncher(Jit, KernelLanguage.Ilgpu);
        RunAndCheck(launcher, kernel, 1, io, "ILGPU");
        Assert.True(launcher.LastRanIlgpu);
        var method = kernel.IlgpuMethod(io)!;
        var entry = Assert.Single(Directory.GetFiles(CacheDirectory, method.Name + "_ilgpu-*.cubin"));
        const int header = 8 + 8 + 32; // the cache's magic, payload length and SHA-256, then the image
        Assert.Equal("\x7f" + "ELF", System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(entry), header, 4));
    }

    /// <summary>PTX the driver cannot compile: the error names the kernel and carries the JIT's log.</summary>
    [Fact]
    public void PtxTheDriverRefusesIsAnErrorWithItsLog()
    {
        var ptx = ".version 8.0\n.target sm_80\n.address_size 64\n.visible .entry broken()\n{\n\tbogus.instruction %r1;\n\tret;\n}\n";
        var e = Assert.Throws<FusionException>(() => PtxLinker.ToCubin(Device, System.Text.Encoding.ASCII.GetBytes(ptx + "\0"), "my_kernel"));
        Assert.Contains("the driver could not compile the PTX of kernel my_kernel for the GPU", e.Message);
        Assert.Contains("bogus", e.Message);
    }

    private void RunAndCheck(GeneratedKernelLauncher launcher, GeneratedKernel kernel, int batch, DType io, string what)
    {
        var stream = Device.DefaultStream;
        var inputs = KernelChecks.RandomInputs(kernel, batch, io, Rng.Next());
        var expected = CpuBackend.Instance.Run(kernel, batch, io, [.. inputs]);
        var devices = inputs.Select(i => CudaTensor.FromHost(Device, i)).ToList();
        var outputs = expected.Select(e => CudaTensor.Empty(stream, e.DType, e.Shape)).ToList();
        launcher.Launch(kernel, batch, io, [.. devices, .. outputs], stream);
        Compare(outputs, expected, kernel, what);
        KernelChecks.DisposeAll([.. inputs, .. expected, .. devices, .. outputs]);
    }

    private static void Compare(IReadOnlyList<CudaTensor> outputs, IReadOnlyList<Tensor> expected, GeneratedKernel kernel, string what)
    {
        for (int i = 0; i < outputs.Count; i++)
        {
            using var back = outputs[i].ToHost();
            KernelChecks.AssertClose(back, (CpuTensor)expected[i], KernelChecks.ForOutput(back.DType), $"{kernel.Name} {what} output {i}");
        }
    }
}
