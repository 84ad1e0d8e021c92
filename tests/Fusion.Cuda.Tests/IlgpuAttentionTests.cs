using Fusion.Compiler;
using Fusion.Cuda.Generated;
using Fusion.Ilgpu;
using Fusion.Testing;
using Inputs = Fusion.Testing.TestData;

namespace Fusion.Cuda.Tests;

/// <summary>
/// Flash attentions with ILGPU versions: four printed here (<see cref="IlgpuAttentionPrinter"/>) and compiled with Roslyn — head dim
/// 16 causal, 48 (six 16-byte chunks a row: the loads that do not split evenly over the threads), 64 (ViT's) and 32 causal — and
/// <see cref="CausalAttentionResidual"/>'s, whose merge and residual add are its generated epilogue (io buffers: both io types).
/// Each case has its shapes: sequence lengths that leave the last key tile (and for 200 queries the last query block) partly empty,
/// and layouts separate, packed-and-merged and token-major.
/// </summary>
internal static class IlgpuAttentions
{
    /// <summary>A case: the kernel's head dim and causal flag, and the call's batch, heads, Tq, Tk and layout.</summary>
    public sealed record Case(string Name, int D, bool Causal, int Batch, int Heads, int Tq, int Tk, AttentionLayout Layout)
    {
        public override string ToString() => Name;
    }

    public static readonly Case[] Printed =
    [
        new("d16_causal_t70", 16, true, 2, 2, 70, 70, default),
        new("d48_tq33_tk150", 48, false, 1, 2, 33, 150, default),
        new("d64_packed_t197", 64, false, 1, 1, 197, 197, new AttentionLayout(Packed: true, Merged: true, Heads: 1, HeadDim: 64)),
        new("d32_causal_t200_token_major", 32, true, 1, 3, 200, 200, new AttentionLayout(Merged: true, Heads: 3, HeadDim: 32, TokenMajor: true)),
    ];

    private static readonly Lazy<IReadOnlyDictionary<string, FusedKernel>> s_kernels = new(Build);

    public static FusedKernel Kernel(Case c) => s_kernels.Value[c.Name];

    /// <summary><see cref="CausalAttentionResidual"/>'s fp16-plan attention, with its epilogue (the float plan's runs unfused).</summary>
    public static FusedKernel WithEpilogue => CausalAttentionResidual.Kernels.OfType<FusedKernel>().Single(k => k.Pattern == AttentionKernels.Pattern && k.IlgpuKernels is not null);

    private static IReadOnlyDictionary<string, FusedKernel> Build()
    {
        var kernels = Printed.Select(c => AttentionKernels.For(c.D, c.Causal, bias: false)).ToList();
        var classes = string.Concat(kernels.Select((k, i) => $"public static class A{i}\n{{\n"
            + IlgpuAttentionPrinter.PrintAll(k.Name, Printed[i].D, Printed[i].Causal, hasBias: false, null) + "}\n"));
        var assembly = PrintedIlgpu.Compile("IlgpuAttentions", classes);
        return Printed.Select((c, i) => (c.Name, Kernel: kernels[i] with { IlgpuKernels = assembly.GetType($"IlgpuAttentions.A{i}", throwOnError: true) }))
            .ToDictionary(p => p.Name, p => p.Kernel);
    }

    /// <summary>Fresh random fp16 operands of <paramref name="c"/> in its layout, and the float64 result in the layout's output shape.</summary>
    public static (CpuTensor[] Operands, RefTensor Expected) Random(Case c, int seed)
    {
        var q = Inputs.Random(seed, DType.Float16, c.Batch, c.Heads, c.Tq, c.D);
        var k = Inputs.Random(seed + 1, DType.Float16, c.Batch, c.Heads, c.Tk, c.D);
        var v = Inputs.Random(seed + 2, DType.Float16, c.Batch, c.Heads, c.Tk, c.D);
        float scale = Scale(c);
        var expected = AttentionReference.Compute(q, k, v, null, scale, c.Causal);
        if (c.Layout.Merged) expected = AttentionReference.Merge(expected);
        if (c.Layout.Packed)
        {
            var qkv = AttentionReference.Pack(q, k, v).ToCpu(DType.Float16);
            return ([qkv, qkv, qkv], expected);
        }
        if (c.Layout.TokenMajor) return ([.. new[] { q, k, v }.Select(t => AttentionReference.Merge(t).ToCpu(DType.Float16))], expected);
        return ([q.ToCpu(DType.Float16), k.ToCpu(DType.Float16), v.ToCpu(DType.Float16)], expected);
    }

    /// <summary>A negative scale for the causal cases: the kernels apply it to −q, which a sign slip would show.</summary>
    public static float Scale(Case c) => (c.Causal ? -1 : 1) / MathF.Sqrt(c.D);

    /// <summary>
    /// The kernel rounds the probabilities to fp16 for p·v (at most 2⁻¹¹·Σp|v| ≤ 5e-4 with |v| ≤ 1) and the result once, and exp2
    /// is approximate; a wrong tile, mask or rescale gives errors of order 0.1. As <see cref="AttentionKernelTests"/>.
    /// </summary>
    public const double Atol = 2e-3, Rtol = 4e-3;

    /// <summary>
    /// Random operands of <see cref="WithEpilogue"/> at <paramref name="batch"/>: q, k, v token-major [B, 70, 32], then the epilogue's
    /// other inputs in their types (the residual stays fp16 in the half plan; the io cast is the epilogue's output).
    /// </summary>
    public static CpuTensor[] EpilogueOperands(int batch, DType io, int seed) =>
    [
        .. Enumerable.Range(0, 3).Select(i => KernelChecks.Random(seed + i, DType.Float16, batch, 70, 32)),
        .. WithEpilogue.Epilogue!.Ir.Inputs.Where(b => b.Role != BufferRole.Accumulator)
            .Select((b, i) => KernelChecks.Random(seed + 3 + i, KernelChecks.TypeOf(b, io), KernelChecks.ShapeAt(b, batch))),
    ];

    public static readonly AttentionLayout EpilogueLayout = new(Merged: true, Heads: 2, HeadDim: 16, TokenMajor: true);

    /// <summary>Float outputs of the epilogue carry the attention's error; fp16 ones one rounding more.</summary>
    public static readonly Tol EpilogueTolerance = new(Atol: 4e-3, Rtol: 4e-3);
}

/// <summary>What the PTX of an attention template's ILGPU version holds: its instructions, each on registers (no local memory).</summary>
internal static class AttentionPtx
{
    public static void AssertTensorCoreBody(string ptx)
    {
        Assert.Contains("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32", ptx);
        Assert.Contains("ldmatrix.sync.aligned.m8n8.x4.shared.b16", ptx);
        Assert.Contains("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16", ptx);
        Assert.Contains("cp.async.cg.shared.global", ptx);
        Assert.Contains("ex2.approx.ftz.f32", ptx);
        Assert.DoesNotContain(".local", ptx);
    }
}

/// <summary>
/// The ILGPU flash attention where no GPU is needed. Its PTX (ILGPU headless, Fusion's tensor-core and exp2 code generators) holds
/// the template's instructions on registers: mma.sync, ldmatrix (plain and .trans), cp.async with its wait, ex2.approx, dynamic
/// shared memory, no local memory. And it runs on ILGPU's CPU accelerator (the instructions as their lane-by-lane definitions) on
/// fresh random operands against the float64 definition (and the epilogue case against the CPU backend).
/// </summary>
public sealed class IlgpuAttentionTests : IClassFixture<IlgpuKernelTests.Runner>
{
    private readonly IlgpuCpuRunner _cpu;

    public IlgpuAttentionTests(IlgpuKernelTests.Runner runner) => _cpu = runner.Cpu;

    public static TheoryData<string> Cases() => [.. IlgpuAttentions.Printed.Select(c => c.Name)];

    private static IlgpuAttentions.Case Get(string name) => IlgpuAttentions.Printed.Single(c => c.Name == name);

    [Theory]
    [MemberData(nameof(Cases))]
    public void IlgpuAttentionOnTheCpuAcceleratorMatchesTheReference(string name)
    {
        var c = Get(name);
        int seed = Inputs.NewSeed();
        var (operands, expected) = IlgpuAttentions.Random(c, seed);
        var results = _cpu.RunAttention(IlgpuAttentions.Kernel(c), operands[0], operands[1], operands[2], c.Layout, IlgpuAttentions.Scale(c), c.Causal, c.Batch,
            DType.Float16);
        try
        {
            Tolerance.AssertClose(Assert.Single(results), expected, IlgpuAttentions.Atol, IlgpuAttentions.Rtol, $"{name} (ILGPU CPU accelerator, seed {seed})");
        }
        finally
        {
            KernelChecks.DisposeAll([.. results, .. operands.Distinct()]);
        }
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float16)]
    public void IlgpuAttentionWithItsEpilogueOnTheCpuAcceleratorMatchesTheCpuBackend(DType io)
    {
        var kernel = IlgpuAttentions.WithEpilogue;
        int seed = Inputs.NewSeed(), batch = 2;
        var o = IlgpuAttentions.EpilogueOperands(batch, io, seed);
        IBackend cpu = CpuBackend.Instance;
        var expected = cpu.Attention(o[0], o[1], o[2], null, IlgpuAttentions.EpilogueLayout, 0.25f, true, kernel, batch, io, o[3..]);
        var actual = _cpu.RunAttention(kernel, o[0], o[1], o[2], IlgpuAttentions.EpilogueLayout, 0.25f, true, batch, io, o[3..]);
        try
        {
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < actual.Length; i++)
                KernelChecks.AssertClose(actual[i], (CpuTensor)expected[i], IlgpuAttentions.EpilogueTolerance, $"{kernel.Name} (ILGPU CPU accelerator, io {io.ShortName()}, seed {seed}) output {i}");
        }
        finally
        {
            KernelChecks.DisposeAll([.. expected, .. actual, .. o]);
        }
    }

    [Fact]
    public void EveryIlgpuAttentionCompilesToTensorCoreInstructionsOnRegisters()
    {
        var kernels = IlgpuAttentions.Printed.Select(IlgpuAttentions.Kernel).Append(IlgpuAttentions.WithEpilogue);
        foreach (var kernel in kernels)
            foreach (var io in kernel.IoTypes)
            {
                var method = kernel.IlgpuMethod(io)!;
                var (ptx, entry) = IlgpuPtxCompiler.Compile(method, kernel.Name);
                Assert.Equal(IlgpuPtxCompiler.EntryName(method), entry);
                AttentionPtx.AssertTensorCoreBody(ptx);
                Assert.Contains("cp.async.wait_group 1", ptx);
                Assert.Contains(".extern .shared .align 16", ptx);
                // q, k, v, out where no epilogue stores, then the epilogue's buffers: one view each.
                int views = 3 + (kernel.Epilogue is null ? 1 : kernel.Epilogue.Ir.Buffers.Count - 1);
                Assert.Equal(views, ptx.Split(".param .align 8 .b8").Length - 1);
            }
    }

    [Fact]
    public void OnlyTheFastConfigurationWithoutBiasHasAnIlgpuVersion()
    {
        Assert.NotNull(IlgpuAttentions.WithEpilogue.IlgpuMethod(DType.Float16));
        // Head dims that are not multiples of 16, above 64, and a bias take the CUDA C only.
        Assert.Equal("", IlgpuAttentionPrinter.PrintAll("a", 40, false, false, null));
        Assert.Equal("", IlgpuAttentionPrinter.PrintAll("a", 80, false, false, null));
        Assert.Equal("", IlgpuAttentionPrinter.PrintAll("a", 64, false, true, null));
        Assert.All(global::Fusion.Runtime.Tests.AttentionModel.Kernels.OfType<FusedKernel>(), k => Assert.Null(k.IlgpuKernels)); // head dim 8
    }

    [Fact]
    public void AKernelSpecializedAtRunTimeHasNoIlgpuVersion()
    {
        var kernel = AttentionKernels.For(32, false, false);
        Assert.Null(kernel.IlgpuMethod(DType.Float16));
        using var q = CpuTensor.Zeros(DType.Float16, 1, 1, 4, 32);
        var e = Assert.Throws<FusionException>(() => _cpu.RunAttention(kernel, q, q, q, default, 0.25f, false, 1, DType.Float16));
        Assert.Contains($"kernel {kernel.Name} has no ILGPU version", e.Message);
    }
}

/// <summary>
/// The ILGPU flash attention on the GPU (FUSION_KERNELS=ilgpu): every case above at two batches, compiled by ILGPU, linked by the
/// driver and launched by Fusion in the primary context with its dynamic shared memory, against the float64 definition (outputs start
/// as NaN, so an element the kernel skips fails); the epilogue case against the CPU backend; and auto, which times both versions at a
/// shape once and remembers the faster in the kernel cache folder.
/// </summary>
public sealed class IlgpuAttentionGpuTests(GemmKernelFolder folder) : GpuTestBase, IClassFixture<GemmKernelFolder>
{
    public static TheoryData<string, int> Runs()
    {
        var data = new TheoryData<string, int>();
        foreach (var c in IlgpuAttentions.Printed)
            foreach (int batch in new[] { 1, 3 }) data.Add(c.Name, batch);
        return data;
    }

    [Theory]
    [MemberData(nameof(Runs))]
    public void IlgpuAttentionOnTheGpuMatchesTheReference(string name, int batch)
    {
        var c = IlgpuAttentions.Printed.Single(x => x.Name == name) with { Batch = batch };
        using var cuda = new CudaBackend(Device, new KernelCache(folder.Path));
        cuda.Generated.Language = KernelLanguage.Ilgpu;
        MatchesReference(cuda, c, $"{name} B={batch} (ILGPU)");
        Assert.True(cuda.Attentions.LastRanIlgpu, $"{name}: the launch did not take the ILGPU kernel");
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float16)]
    public void IlgpuAttentionWithItsEpilogueOnTheGpuMatchesTheCpu(DType io)
    {
        var kernel = IlgpuAttentions.WithEpilogue;
        int seed = Rng.Next(), batch = 3;
        using var cuda = new CudaBackend(Device, new KernelCache(folder.Path));
        cuda.Generated.Language = KernelLanguage.Ilgpu;
        var o = IlgpuAttentions.EpilogueOperands(batch, io, seed);
        IBackend cpu = CpuBackend.Instance;
        var expected = cpu.Attention(o[0], o[1], o[2], null, IlgpuAttentions.EpilogueLayout, 0.25f, true, kernel, batch, io, o[3..]);
        var operands = o.Select(cuda.FromHost).ToList();
        Tensor[] actual = [];
        try
        {
            KernelChecks.PoisonNextAllocations(cuda.CudaDevice, expected.Select(e => (e.Shape, e.DType)));
            IBackend backend = cuda;
            actual = backend.Attention(operands[0], operands[1], operands[2], null, IlgpuAttentions.EpilogueLayout, 0.25f, true, kernel, batch, io, [.. operands.Skip(3)]);
            Assert.True(cuda.Attentions.LastRanIlgpu, $"{kernel.Name}: the launch did not take the ILGPU kernel");
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < actual.Length; i++)
            {
                using var back = cuda.ToHost(actual[i]);
                KernelChecks.AssertClose(back, (CpuTensor)expected[i], IlgpuAttentions.EpilogueTolerance, $"{kernel.Name} (ILGPU, io {io.ShortName()}, seed {seed}) output {i}");
            }
        }
        finally
        {
            KernelChecks.DisposeAll([.. actual, .. operands, .. expected, .. o]);
        }
    }

    /// <summary>
    /// FUSION_KERNELS=auto: the first launch at a shape times both versions, runs the faster and stores the choice; a second backend
    /// on the same cache folder finds it and measures nothing.
    /// </summary>
    [Fact]
    public void UnderAutoTheFirstLaunchTimesBothVersionsAndRemembersTheFaster()
    {
        var c = IlgpuAttentions.Printed.Single(x => x.D == 64);
        var choices = Directory.CreateTempSubdirectory("fusion-flash-auto-").FullName;
        try
        {
            bool ranIlgpu;
            using (var cuda = new CudaBackend(Device, new KernelCache(choices)))
            {
                cuda.Generated.Language = KernelLanguage.Auto;
                MatchesReference(cuda, c, c.Name + " (auto)");
                Assert.Equal(1, cuda.Generated.Measurements);
                ranIlgpu = cuda.Attentions.LastRanIlgpu;
            }
            using (var again = new CudaBackend(Device, new KernelCache(choices)))
            {
                again.Generated.Language = KernelLanguage.Auto;
                MatchesReference(again, c, c.Name + " (auto, remembered)");
                Assert.Equal(0, again.Generated.Measurements);
                Assert.Equal(ranIlgpu, again.Attentions.LastRanIlgpu);
            }
        }
        finally
        {
            Directory.Delete(choices, recursive: true);
        }
    }

    private void MatchesReference(CudaBackend cuda, IlgpuAttentions.Case c, string what)
    {
        int seed = Rng.Next();
        var (host, expected) = IlgpuAttentions.Random(c, seed);
        var distinct = host.Distinct().ToList();
        var device = distinct.Select(t => (CudaTensor)cuda.FromHost(t)).ToList();
        CudaTensor Of(CpuTensor t) => device[distinct.IndexOf(t)];
        try
        {
            KernelChecks.PoisonNextAllocations(cuda.CudaDevice, [(new Shape(expected.Shape), DType.Float16)]);
            IBackend backend = cuda;
            using var result = (CudaTensor)backend.Attention(Of(host[0]), Of(host[1]), Of(host[2]), null, c.Layout, IlgpuAttentions.Scale(c), c.Causal,
                IlgpuAttentions.Kernel(c));
            TestData.AssertClose(Download(result), expected.Data, IlgpuAttentions.Atol, IlgpuAttentions.Rtol, $"{what} (seed {seed})");
        }
        finally
        {
            KernelChecks.DisposeAll([.. device, .. distinct]);
        }
    }
}
