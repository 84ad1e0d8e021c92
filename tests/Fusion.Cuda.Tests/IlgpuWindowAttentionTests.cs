using Fusion.Compiler;
using Fusion.Cuda.Fused;
using Fusion.Cuda.Generated;
using Fusion.Ilgpu;
using Fusion.Kernels;
using Fusion.SwinTiny.Tests;
using Fusion.Testing;
using SwinTiny.Model;

namespace Fusion.Cuda.Tests;

/// <summary>
/// Window attentions with ILGPU versions: three printed here (<see cref="IlgpuWindowAttentionPrinter"/>) and compiled with Roslyn on
/// shapes Swin does not have — 2 heads of 16 over 9 tokens with 3 masks (one key tile straddling the tokens), 1 head of 64 over 64
/// tokens (every tile full, no mask), 3 heads of 48 over 33 tokens with 2 masks (three k16 steps; the last key step half empty), 1 head
/// of 32 over 16 tokens with 2 masks whose epilogue quantizes to int8 (the Int8 plan's store, a code within one of the CPU's) —
/// the Swin-T stage-1 blocks' own two (3 heads of 32, 49 tokens, with and without their 64 masks), and
/// <see cref="ScaledAttentionMma"/>'s, whose layer scale and residual are its generated epilogue (io buffers: both io types).
/// </summary>
internal static class IlgpuWindowAttentions
{
    private static readonly Lazy<IReadOnlyList<FusedKernel>> s_printed = new(Build);

    /// <summary>Every case: printed, the Swin blocks', the one with an epilogue.</summary>
    public static IEnumerable<FusedKernel> All => s_printed.Value.Concat(SwinBlocks()).Append(WithEpilogue);

    public static FusedKernel Get(string name) => All.Single(k => k.Name == name);

    /// <summary>The Swin-T stage-1 blocks' window attentions of the fp16 plan (no epilogue).</summary>
    public static IEnumerable<FusedKernel> SwinBlocks() =>
        SwinStage1Blocks.Kernels.OfType<FusedKernel>().Where(k => k.Pattern == WindowAttentionLauncher.Pattern && k.IlgpuKernels is not null && k.Epilogue is null);

    /// <summary>
    /// The same blocks' window attentions of the Int8 and Fp8 plans, whose epilogue quantizes the output for the projection (int8 or
    /// E4M3 codes): compiled here; their stores are the epilogue printer's, which the int8 GEMMs' tests run on the CPU accelerator.
    /// </summary>
    public static IEnumerable<FusedKernel> SwinQuantizing() =>
        SwinStage1Blocks.Kernels.OfType<FusedKernel>().Where(k => k.Pattern == WindowAttentionLauncher.Pattern && k.Epilogue?.Ir.Outputs.Any(b => b.Type.IsCode()) == true);

    /// <summary>The half plan's attention of <see cref="ScaledAttentionMma"/> (the float plan's runs unfused and has no ILGPU version).</summary>
    public static FusedKernel WithEpilogue => ScaledAttentionMma.Kernels.OfType<FusedKernel>().Single(k => k.IlgpuKernels is not null);

    private static IReadOnlyList<FusedKernel> Build()
    {
        var shapes = new (int Heads, int D, int Tokens, int Windows, bool Masked)[] { (2, 16, 9, 3, true), (1, 64, 64, 1, false), (3, 48, 33, 2, true), (1, 32, 16, 2, true) };
        var kernels = shapes.Select(s => FusedKernelTests.Specialize(WindowAttentionLauncher.Pattern, ("HEADS", s.Heads), ("HEAD_DIM", s.D), ("TOKENS", s.Tokens),
            ("WINDOWS", s.Windows), ("HAS_MASK", s.Masked ? 1 : 0))).ToList();
        // The last one quantizes its output to int8 in its epilogue, as the Int8 plan's attention does for the projection.
        kernels[^1] = kernels[^1] with { Epilogue = QuantizingEpilogue(kernels[^1].Name) };
        var classes = string.Concat(kernels.Select((k, i) => $"public static class W{i}\n{{\n"
            + IlgpuWindowAttentionPrinter.PrintAll(k.Name, shapes[i].Heads, shapes[i].D, shapes[i].Tokens, shapes[i].Windows, shapes[i].Masked, k.Epilogue?.Ir) + "}\n"));
        var assembly = PrintedIlgpu.Compile("IlgpuWindowAttentions", classes);
        return kernels.Select((k, i) => k with { IlgpuKernels = assembly.GetType($"IlgpuWindowAttentions.W{i}", throwOnError: true) }).ToList();
    }

    /// <summary>An epilogue over [2N windows, 16 tokens, 32] that multiplies by a one-element scale and stores int8 codes.</summary>
    private static GeneratedKernel QuantizingEpilogue(string template)
    {
        var ir = LoopIrText.Parse($"""
            kernel {template}_quantize_epilogue
            domain [32N, 32]
            acc acc f16 [2N, 16, 32]
            in scale f32 [1]
            out codes i8 [2N, 16, 32]
            %0 = load acc[32*v0 + v1]
            %1 = load scale[0]
            %2 = mul %0 %1
            %3 = {ScalarOps.Name(ScalarOp.RoundI8)} %2
            store codes[32*v0 + v1] = %3
            """);
        return new GeneratedKernel(ir.Name, LoopIrText.Print(ir), CudaKernelPrinter.Print(ir).Source, KernelMapping.Of(ir).Launch.Encode(), null);
    }

    /// <summary>
    /// Random operands for <paramref name="windows"/> windows: qkv uniform in [−1, 1), the bias in [−2, 2), masks of 0 and −100 (as
    /// Swin's shifted-window mask) at random, and the epilogue's other inputs at the batch those windows make.
    /// </summary>
    public static Operands Random(FusedKernel kernel, int windows, DType io, int seed)
    {
        var (heads, d, tokens) = (kernel.Constant("HEADS"), kernel.Constant("HEAD_DIM"), kernel.Constant("TOKENS"));
        var rng = new Random(seed);
        var qkv = KernelChecks.Random(seed, DType.Float16, windows, tokens, 3 * heads * d);
        var bias = Fusion.Testing.TestData.Uniform(seed + 1, -2, 2, heads, tokens, tokens).ToCpu(DType.Float16);
        CpuTensor? mask = null;
        if (kernel.Constant("HAS_MASK") != 0)
        {
            var values = new double[kernel.Constant("WINDOWS") * tokens * tokens];
            for (int i = 0; i < values.Length; i++) values[i] = rng.Next(3) == 0 ? -100 : 0;
            mask = new RefTensor([kernel.Constant("WINDOWS"), tokens, tokens], values).ToCpu(DType.Float16);
        }
        // The epilogue's batch: its accumulator has as many windows as the batch makes (ScaledAttentionMma: one a sample, Swin: 64).
        int perSample = kernel.Epilogue is { } e ? KernelChecks.ShapeAt(e.Ir.Inputs.Single(b => b.Role == BufferRole.Accumulator), 1)[0] : 1;
        if (windows % perSample != 0) throw new ArgumentException($"{kernel.Name}: {windows} windows are not whole samples of {perSample}");
        int batch = windows / perSample;
        var epilogue = kernel.Epilogue?.Ir.Inputs.Where(b => b.Role != BufferRole.Accumulator)
            .Select((b, i) => KernelChecks.Random(seed + 2 + i, KernelChecks.TypeOf(b, io), KernelChecks.ShapeAt(b, batch))).ToArray() ?? [];
        // A quantizing epilogue's one-element scale (the inverse of the codes' step) spreads outputs of order 1 over the codes: 40–120.
        if (kernel.Epilogue?.Ir.Outputs.Any(b => b.Type.IsCode()) == true)
            foreach (var t in epilogue.Where(IsCodeScale)) t.Span<float>()[0] = (float)(40 + 80 * rng.NextDouble());
        return new Operands(qkv, bias, mask, epilogue, batch, 1 / MathF.Sqrt(d));
    }

    /// <summary>
    /// Outputs within <see cref="Tolerance"/>; int8 codes within one code and E4M3 codes within one step of the format (2⁻³ of the value,
    /// 2⁻⁹ near zero) plus the attention's own error scaled as the codes are (<paramref name="codeScale"/>, the epilogue's one-element
    /// scale): the attention's error before the quantize can move a value across a rounding boundary, and near zero E4M3's steps
    /// (2⁻⁹ at scales of 40–120, i.e. 2e-5 of the attention's output) are finer than that error (on the GPU, ex2.approx and the
    /// probabilities rounded to fp16: up to <see cref="AttentionError"/>). At most a quarter of the codes may move.
    /// </summary>
    public static void AssertClose(CpuTensor actual, CpuTensor expected, string what, float codeScale = 0)
    {
        if (actual.DType is not (DType.Int8 or DType.Float8E4M3)) { KernelChecks.AssertClose(actual, expected, Tolerance, what); return; }
        Assert.True(actual.DType == expected.DType && actual.Shape == expected.Shape, $"{what}: {actual.DType.ShortName()}{actual.Shape}, expected {expected.DType.ShortName()}{expected.Shape}");
        var (a, b) = (RefTensor.FromCpu(actual).Data, RefTensor.FromCpu(expected).Data);
        for (int i = 0; i < a.Length; i++)
        {
            double allowed = actual.DType == DType.Int8 ? 1 : Math.Max(Math.Abs(b[i]) / 8, 1.0 / 512) + AttentionError * codeScale;
            Assert.True(Math.Abs(a[i] - b[i]) <= allowed, $"{what}: element {i} is {a[i]}, the CPU's {b[i]} (allowed {allowed})");
        }
        Assert.Contains(b, v => Math.Abs(v) > (actual.DType == DType.Int8 ? 20 : 8)); // the codes span the range, not only the few near zero
        // Only values within the attention's error of a rounding boundary may move (a few in a hundred at these scales); a store that
        // truncated instead of rounding to nearest would move about half.
        int moved = a.Zip(b).Count(p => p.First != p.Second);
        Assert.True(moved <= a.Length / 4, $"{what}: {moved} of {a.Length} codes differ from the CPU's");
    }

    /// <summary>The CPU backend's result: the template's twin, then the epilogue interpreted from its loop IR.</summary>
    public static Tensor[] Expected(FusedKernel kernel, Operands o, DType io)
    {
        IBackend cpu = CpuBackend.Instance;
        int heads = kernel.Constant("HEADS");
        return kernel.Epilogue is null
            ? [cpu.WindowAttention(o.Qkv, o.Bias, o.Mask, heads, o.Scale, kernel)]
            : cpu.WindowAttention(o.Qkv, o.Bias, o.Mask, heads, o.Scale, kernel, o.Batch, io, o.EpilogueInputs);
    }

    /// <summary>
    /// The tensor-core body rounds the probabilities to fp16 before p·v (at most 2⁻¹¹·Σp|v| ≈ 5e-4 with |v| &lt; 1) and rounds the result
    /// once; the twin computes in float32 throughout. An epilogue's float32 outputs carry the same error.
    /// </summary>
    public static readonly Tol Tolerance = new(Atol: 4e-3, Rtol: 4e-3);

    /// <summary>A quantizing epilogue's one-element float32 input: the scale its codes are the attention's output times.</summary>
    private static bool IsCodeScale(CpuTensor t) => t.DType == DType.Float32 && t.Shape.ElementCount == 1;

    /// <summary>The tensor-core body's error against the twin before an epilogue's quantize: 2⁻¹¹·Σp|v| with |v| &lt; 1.</summary>
    public const double AttentionError = 5e-4;

    public sealed record Operands(CpuTensor Qkv, CpuTensor Bias, CpuTensor? Mask, CpuTensor[] EpilogueInputs, int Batch, float Scale) : IDisposable
    {
        /// <summary>A quantizing epilogue's one-element float32 scale (what the codes are the attention's output times), else 0.</summary>
        public float CodeScale => EpilogueInputs.FirstOrDefault(IsCodeScale)?.Span<float>()[0] ?? 0;

        public IEnumerable<CpuTensor> All => new[] { Qkv, Bias }.Concat(Mask is null ? [] : [Mask]).Concat(EpilogueInputs);

        public void Dispose()
        {
            foreach (var t in All) t.Dispose();
        }
    }
}

/// <summary>
/// The ILGPU window attention where no GPU is needed. Its PTX (ILGPU headless, Fusion's tensor-core and exp2 code generators) holds
/// the template's instructions on registers: mma.sync, ldmatrix (plain and .trans), cp.async, ex2.approx, no local memory. And it
/// runs on ILGPU's CPU accelerator (the instructions as their lane-by-lane definitions) on fresh random operands against the CPU
/// backend within <see cref="IlgpuWindowAttentions.Tolerance"/>.
/// </summary>
public sealed class IlgpuWindowAttentionTests : IClassFixture<IlgpuKernelTests.Runner>
{
    private readonly IlgpuCpuRunner _cpu;

    public IlgpuWindowAttentionTests(IlgpuKernelTests.Runner runner) => _cpu = runner.Cpu;

    public static TheoryData<string, int, DType> CpuRuns()
    {
        var data = new TheoryData<string, int, DType>();
        // Every 128-thread group is 128 .NET threads and every shuffle a barrier: a few windows each (a whole image of masks where masked).
        foreach (var kernel in IlgpuWindowAttentions.All.Where(k => !k.Name.EndsWith("_masked", StringComparison.Ordinal) || k.Constant("WINDOWS") <= 3))
            foreach (var io in kernel.IoTypes)
                data.Add(kernel.Name, kernel.Constant("HAS_MASK") != 0 ? 2 * kernel.Constant("WINDOWS") : 3, io);
        return data;
    }

    [Theory]
    [MemberData(nameof(CpuRuns))]
    public void IlgpuWindowAttentionOnTheCpuAcceleratorMatchesTheCpuBackend(string name, int windows, DType io)
    {
        var kernel = IlgpuWindowAttentions.Get(name);
        using var o = IlgpuWindowAttentions.Random(kernel, windows, io, Random.Shared.Next());
        var expected = IlgpuWindowAttentions.Expected(kernel, o, io);
        var actual = _cpu.RunWindowAttention(kernel, o.Qkv, o.Bias, o.Mask, o.Scale, o.Batch, io, o.EpilogueInputs);
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < actual.Length; i++)
            IlgpuWindowAttentions.AssertClose(actual[i], (CpuTensor)expected[i], $"{name} (ILGPU CPU accelerator, {windows} windows, io {io.ShortName()}) output {i}", o.CodeScale);
        KernelChecks.DisposeAll([.. expected, .. actual]);
    }

    public static TheoryData<string> Compiled() => [.. IlgpuWindowAttentions.All.Concat(IlgpuWindowAttentions.SwinQuantizing()).Select(k => k.Name)];

    [Theory]
    [MemberData(nameof(Compiled))]
    public void IlgpuWindowAttentionCompilesToTensorCoreInstructionsOnRegisters(string name)
    {
        var kernel = IlgpuWindowAttentions.All.Concat(IlgpuWindowAttentions.SwinQuantizing()).Single(k => k.Name == name);
        foreach (var io in kernel.IoTypes)
        {
            var method = kernel.IlgpuMethod(io)!;
            var (ptx, entry) = IlgpuPtxCompiler.Compile(method, kernel.Name);
            Assert.Equal(IlgpuPtxCompiler.EntryName(method), entry);
            AttentionPtx.AssertTensorCoreBody(ptx);
            Assert.Equal(1, ptx.Split(".shared .align 16 .b8").Length - 1);
            // qkv, bias, the mask where there is one, out where no epilogue stores, then the epilogue's buffers: one view each.
            int views = 2 + kernel.Constant("HAS_MASK") + (kernel.Epilogue is null ? 1 : kernel.Epilogue.Ir.Buffers.Count - 1);
            Assert.Equal(views, ptx.Split(".param .align 8 .b8").Length - 1);
        }
    }

    [Fact]
    public void OnlyTheTensorCoreBodyHasAnIlgpuVersion()
    {
        Assert.All(IlgpuWindowAttentions.SwinBlocks(), k => Assert.NotNull(k.IlgpuMethod(DType.Float16)));
        Assert.Equal(2, IlgpuWindowAttentions.SwinBlocks().Count());
        // The quantized plans' (an int8 and an E4M3 store in the epilogue) have theirs too: two each.
        var quantizing = IlgpuWindowAttentions.SwinQuantizing().ToList();
        Assert.Equal(4, quantizing.Count);
        Assert.All(quantizing, k => Assert.NotNull(k.IlgpuMethod(DType.Float16)));
        // HEAD_DIM 10 (not a multiple of 16) and 65 tokens (past the 64-row tile) take the CUDA C's float32 body only.
        Assert.Equal("", IlgpuWindowAttentionPrinter.PrintAll("w", 3, 10, 9, 1, false, null));
        Assert.Equal("", IlgpuWindowAttentionPrinter.PrintAll("w", 1, 16, 65, 1, false, null));
        Assert.All(ScaledAttentionScalar.Kernels.OfType<FusedKernel>(), k => Assert.Null(k.IlgpuKernels));
        // The float plan's attention runs unfused: only the half plan's has one.
        Assert.Single(ScaledAttentionMma.Kernels.OfType<FusedKernel>(), k => k.IlgpuKernels is not null);
    }

    [Fact]
    public void AKernelSpecializedAtRunTimeHasNoIlgpuVersion()
    {
        var kernel = FusedKernelTests.Specialize(WindowAttentionLauncher.Pattern, ("HEADS", 1), ("HEAD_DIM", 16), ("TOKENS", 4), ("WINDOWS", 1), ("HAS_MASK", 0));
        Assert.Null(kernel.IlgpuMethod(DType.Float16));
        using var qkv = CpuTensor.Zeros(DType.Float16, 2, 4, 48);
        using var bias = CpuTensor.Zeros(DType.Float16, 1, 4, 4);
        var e = Assert.Throws<FusionException>(() => _cpu.RunWindowAttention(kernel, qkv, bias, null, 0.25f, 2, DType.Float16));
        Assert.Contains($"kernel {kernel.Name} has no ILGPU version", e.Message);
    }
}

/// <summary>
/// The ILGPU window attention on the GPU (FUSION_KERNELS=ilgpu): every case above at two window counts, compiled by ILGPU, linked by
/// the driver and launched by Fusion in the primary context, against the CPU backend (outputs start as NaN, so an element the
/// kernel skips fails); and auto, which times both versions at a size once and remembers the faster in the kernel cache folder.
/// </summary>
public sealed class IlgpuWindowAttentionGpuTests(GemmKernelFolder folder) : GpuTestBase, IClassFixture<GemmKernelFolder>
{
    public static TheoryData<string, int, DType> Runs()
    {
        var data = new TheoryData<string, int, DType>();
        foreach (var kernel in IlgpuWindowAttentions.All)
            foreach (int images in new[] { 1, 3 })
                foreach (var io in kernel.IoTypes)
                    data.Add(kernel.Name, images * kernel.Constant("WINDOWS") * (kernel.Constant("HAS_MASK") != 0 ? 1 : 5), io);
        // The quantized plans' (Swin's 64 windows an image), at 1 and 3 images.
        foreach (var kernel in IlgpuWindowAttentions.SwinQuantizing())
            foreach (int images in new[] { 1, 3 })
                data.Add(kernel.Name, images * 64, DType.Float16);
        return data;
    }

    [Theory]
    [MemberData(nameof(Runs))]
    public void IlgpuWindowAttentionOnTheGpuMatchesTheCpu(string name, int windows, DType io)
    {
        var kernel = IlgpuWindowAttentions.All.Concat(IlgpuWindowAttentions.SwinQuantizing()).Single(k => k.Name == name);
        using var cuda = new CudaBackend(Device, new KernelCache(folder.Path));
        cuda.Generated.Language = KernelLanguage.Ilgpu;
        MatchesCpu(cuda, kernel, windows, io, $"{name} (ILGPU)");
        Assert.True(cuda.WindowAttentions.LastRanIlgpu, $"{name}: the launch did not take the ILGPU kernel");
    }

    /// <summary>
    /// FUSION_KERNELS=auto: the first launch at a size times both versions, runs the faster and stores the choice; a second backend on
    /// the same cache folder finds it and measures nothing.
    /// </summary>
    [Fact]
    public void UnderAutoTheFirstLaunchTimesBothVersionsAndRemembersTheFaster()
    {
        var kernel = IlgpuWindowAttentions.SwinBlocks().Single(k => k.Constant("HAS_MASK") != 0);
        int windows = 2 * kernel.Constant("WINDOWS");
        var choices = Directory.CreateTempSubdirectory("fusion-attention-auto-").FullName;
        try
        {
            bool ranIlgpu;
            using (var cuda = new CudaBackend(Device, new KernelCache(choices)))
            {
                cuda.Generated.Language = KernelLanguage.Auto;
                MatchesCpu(cuda, kernel, windows, DType.Float16, kernel.Name + " (auto)");
                Assert.Equal(1, cuda.Generated.Measurements);
                ranIlgpu = cuda.WindowAttentions.LastRanIlgpu;
            }
            using (var again = new CudaBackend(Device, new KernelCache(choices)))
            {
                again.Generated.Language = KernelLanguage.Auto;
                MatchesCpu(again, kernel, windows, DType.Float16, kernel.Name + " (auto, remembered)");
                Assert.Equal(0, again.Generated.Measurements);
                Assert.Equal(ranIlgpu, again.WindowAttentions.LastRanIlgpu);
            }
        }
        finally
        {
            Directory.Delete(choices, recursive: true);
        }
    }

    private void MatchesCpu(CudaBackend cuda, FusedKernel kernel, int windows, DType io, string what)
    {
        using var o = IlgpuWindowAttentions.Random(kernel, windows, io, Rng.Next());
        var expected = IlgpuWindowAttentions.Expected(kernel, o, io);
        var operands = o.All.Select(cuda.FromHost).ToList();
        var (qkv, bias) = (operands[0], operands[1]);
        var mask = o.Mask is null ? null : operands[2];
        var epilogue = operands.Skip(o.Mask is null ? 2 : 3).ToArray();
        Tensor[] actual = [];
        try
        {
            KernelChecks.PoisonNextAllocations(cuda.CudaDevice, expected.Select(e => (e.Shape, e.DType)));
            IBackend backend = cuda;
            int heads = kernel.Constant("HEADS");
            actual = kernel.Epilogue is null
                ? [backend.WindowAttention(qkv, bias, mask, heads, o.Scale, kernel)]
                : backend.WindowAttention(qkv, bias, mask, heads, o.Scale, kernel, o.Batch, io, epilogue);
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < actual.Length; i++)
            {
                using var back = cuda.ToHost(actual[i]);
                IlgpuWindowAttentions.AssertClose(back, (CpuTensor)expected[i], $"{what} output {i} ({windows} windows, io {io.ShortName()})", o.CodeScale);
            }
        }
        finally
        {
            KernelChecks.DisposeAll([.. actual, .. operands, .. expected]);
        }
    }
}
