using System.Reflection;
using Fusion.Compiler;
using Fusion.Ilgpu;
using Fusion.Runtime.Tests.Compiler;
using Fusion.Testing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Fusion.Cuda.Tests;

/// <summary>
/// Kernels lowered in the tests (not by the generator) with their ILGPU versions: the printer's text for each, compiled here with
/// Roslyn into one in-memory assembly, so ILGPU can run the very methods a generated file would hold.
/// </summary>
internal static class CompiledIlgpuCatalog
{
    private static readonly Lazy<IReadOnlyDictionary<string, GeneratedKernel>> s_kernels = new(Build);

    /// <summary>Every lowerable operator alone (<see cref="SingleOpKernels"/>), every hand-built fused group (<see cref="FusedGroups"/>) and the printer-strategy catalog.</summary>
    public static IReadOnlyDictionary<string, GeneratedKernel> Kernels => s_kernels.Value;

    private static IReadOnlyDictionary<string, GeneratedKernel> Build()
    {
        var irs = Enumerable.Range(0, SingleOpKernels.Cases.Count).Select(i => SingleOpKernels.Lower(i).Kernel)
            .Concat(FusedGroups.All.Keys.Select(name => FusedGroups.Get(name).Lower().Kernel))
            .Concat(GeneratedKernelCatalog.Cases.Values.Select(c => c.Kernel.Ir))
            .DistinctBy(k => k.Name).ToList();
        var source = string.Concat(irs.Select((ir, i) => $"public static class K{i}\n{{\n{IlgpuKernelPrinter.PrintAll(ir)}}}\n"));
        var assembly = PrintedIlgpu.Compile("IlgpuCatalog", source);
        return irs.Select((ir, i) => (ir, i))
            .Select(e => new GeneratedKernel(e.ir.Name, LoopIrText.Print(e.ir), CudaKernelPrinter.Print(e.ir).Source, KernelMapping.Of(e.ir).Launch.Encode(),
            assembly.GetType($"IlgpuCatalog.K{e.i}", throwOnError: true))).ToDictionary(k => k.Name);
    }
}

/// <summary>Printed ILGPU kernels compiled with Roslyn in the test, as the generator's output would be compiled in a user's project.</summary>
internal static class PrintedIlgpu
{
    /// <summary>An in-memory assembly of <paramref name="classes"/> (static classes of printed methods) in namespace <paramref name="name"/>, with the printers' aliases.</summary>
    public static Assembly Compile(string name, string classes)
    {
        var source = string.Join("\n", IlgpuKernelPrinter.FileAliases) + $"\nnamespace {name}\n{{\n" + classes + "}\n";
        var trusted = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        var compilation = CSharpCompilation.Create(name, [CSharpSyntaxTree.ParseText(source)],
            trusted.Select(p => MetadataReference.CreateFromFile(p)),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, optimizationLevel: OptimizationLevel.Release));
        using var image = new MemoryStream();
        var emitted = compilation.Emit(image);
        if (!emitted.Success)
            throw new InvalidOperationException("the printed ILGPU kernels do not compile:\n" + string.Join("\n", emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(20)));
        return Assembly.Load(image.ToArray());
    }
}

/// <summary>
/// The ILGPU printer on every kernel shape the tests lower, where no GPU is needed: each kernel of <see cref="CompiledIlgpuCatalog"/>
/// (every operator alone, every fused group, one kernel per CUDA printer strategy: pointwise, row, looped, looped-row) runs on ILGPU's
/// CPU accelerator at batch 1 and 3, with the run's type f32 and f16, on fresh random inputs, against the CPU backend's interpreter.
/// Tolerances as <see cref="EveryOperatorGpuTests"/>: f16 outputs <see cref="KernelChecks.Half"/>, f32 ones <see cref="KernelChecks.Float"/>
/// plus 2e-5·|cpu| for transcendental math; non-finite values must sit where the interpreter has the same value.
/// </summary>
public sealed class IlgpuCatalogTests : IClassFixture<IlgpuKernelTests.Runner>
{
    private static readonly HashSet<string> s_positive = ["log", "sqrt", "rsqrt", "pow"];
    private readonly IlgpuCpuRunner _cpu;

    public IlgpuCatalogTests(IlgpuKernelTests.Runner runner) => _cpu = runner.Cpu;

    public static TheoryData<string, int, DType> Runs()
    {
        var data = new TheoryData<string, int, DType>();
        foreach (var name in CompiledIlgpuCatalog.Kernels.Keys)
            foreach (int batch in new[] { 1, 3 })
                foreach (var io in new[] { DType.Float32, DType.Float16 })
                    data.Add(name, batch, io);
        return data;
    }

    [Theory]
    [MemberData(nameof(Runs))]
    public void IlgpuKernelOnTheCpuAcceleratorMatchesTheInterpreter(string name, int batch, DType io)
    {
        var kernel = CompiledIlgpuCatalog.Kernels[name];
        // Operators defined for positive inputs get inputs in [0.05, 2) (eager_log_7 and the like); the catalog's cases keep their ranges.
        var range = GeneratedKernelCatalog.Cases.TryGetValue(name, out var c) ? c.Range
            : (i, _) => i == 0 && s_positive.Any(op => name.StartsWith($"eager_{op}_", StringComparison.Ordinal)) ? (0.05, 2) : (-1, 1);
        var inputs = KernelChecks.RandomInputs(kernel, batch, io, Random.Shared.Next(), range);
        var expected = CpuBackend.Instance.Run(kernel, batch, io, [.. inputs]);
        var actual = _cpu.Run(kernel, batch, io, inputs);
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < actual.Length; i++)
        {
            var tol = c?.ToleranceFor(actual[i].DType) ?? KernelChecks.ForOutput(actual[i].DType);
            if (actual[i].DType == DType.Float32) tol = tol with { Rtol = tol.Rtol + 2e-5 };
            KernelChecks.AssertCloseAllowingMatchedNonFinite(actual[i], (CpuTensor)expected[i], tol, $"{name} output {i} (ILGPU CPU accelerator, batch {batch}, io {io.ShortName()})");
        }
        KernelChecks.DisposeAll([.. inputs, .. expected, .. actual]);
    }

    /// <summary>
    /// Generated kernels that write int8 codes (the Int8 plan of <see cref="Fusion.Runtime.Tests.Quantization.Int8OneLinear"/>: its input's
    /// quantize), compiled to PTX by ILGPU and run on its CPU accelerator where the rounding decides: the first input across ±300 (past the saturation at ±127), ties k + 0.5 from −130.5
    /// to 130.5 (half to even), ±0, ±∞ and NaN (code 0), the others random; every code equal to the interpreter's.
    /// </summary>
    [Fact]
    public void IlgpuInt8StoresRoundHalfToEvenAndSaturateAsTheInterpreter()
    {
        var kernels = Fusion.Runtime.Tests.Quantization.Int8OneLinear.Kernels.OfType<GeneratedKernel>()
            .Where(k => k.Ir.Outputs.Any(b => b.Type == FloatType.I8)).ToList();
        Assert.NotEmpty(kernels);
        var random = new Random();
        foreach (var kernel in kernels)
        {
            var method = kernel.IlgpuMethod(DType.Float16);
            Assert.NotNull(method);
            // ILGPU's PTX backend writes the codes as byte stores (no GPU needed to compile).
            Assert.Contains("st.global.b8", IlgpuPtxCompiler.Compile(method, kernel.Name).Ptx);
            var inputs = KernelChecks.RandomInputs(kernel, 3, DType.Float16, random.Next());
            var first = inputs[0];
            var special = new[] { 0f, -0f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 127.5f, -127.5f, 126.5f, 0.5f, -0.5f, 1.5f, -2.5f };
            var values = Enumerable.Range(0, (int)first.Shape.ElementCount)
                .Select(i => i < special.Length ? special[i] : i % 3 == 0 ? (i % 262) - 130.5f : (float)(random.NextDouble() * 600 - 300)).ToArray();
            for (int e = 0; e < values.Length; e++)
                if (first.DType == DType.Float16) first.Span<Half>()[e] = (Half)values[e];
                else first.Span<float>()[e] = values[e];
            var expected = CpuBackend.Instance.Run(kernel, 3, DType.Float16, [.. inputs]);
            var actual = _cpu.Run(kernel, 3, DType.Float16, inputs);
            int codes = 0;
            for (int o = 0; o < actual.Length; o++)
            {
                if (actual[o].DType != DType.Int8) continue;
                var want = ((CpuTensor)expected[o]).Span<sbyte>().ToArray();
                var got = actual[o].Span<sbyte>().ToArray();
                int at = -1;
                for (int e = 0; e < want.Length && at < 0; e++) if (want[e] != got[e]) at = e;
                Assert.True(at < 0, $"{kernel.Name} output {o}: code {(at < 0 ? 0 : got[at])} at {at}, the interpreter's {(at < 0 ? 0 : want[at])}");
                Assert.Contains(want, c => c == 127);  // saturated somewhere, so the test reaches the clamp
                codes += want.Length;
            }
            Assert.True(codes > 0);
            KernelChecks.DisposeAll([.. inputs, .. expected, .. actual]);
        }
    }

    /// <summary>
    /// The Fp8 plan's generated kernels that write E4M3 codes (<see cref="Fusion.Runtime.Tests.Quantization.Fp8Mlp"/>: the layer norm
    /// storing fc1's input, the weights' quantize), compiled to PTX by ILGPU (the GPU's conversion, the target raised to sm_89) and run
    /// on its CPU accelerator where the rounding decides: the first input across ±600 (past the saturation at ±448), values on the
    /// midpoints between neighbouring codes (ties to even), subnormals, ±0, ±∞ and NaN, the others random; every code equal to the
    /// interpreter's (NaN codes as NaN).
    /// </summary>
    [Fact]
    public void IlgpuFp8StoresRoundToNearestEvenAndSaturateAsTheInterpreter()
    {
        var kernels = Fusion.Runtime.Tests.Quantization.Fp8Mlp.Kernels.OfType<GeneratedKernel>()
            .Where(k => k.Ir.Outputs.Any(b => b.Type == FloatType.F8) && k.Ir.Inputs.Any()).ToList();
        Assert.NotEmpty(kernels);
        var random = new Random();
        foreach (var kernel in kernels)
        {
            var io = kernel.Ir.UsesIoType ? DType.Float32 : DType.Float16;
            var method = kernel.IlgpuMethod(io);
            Assert.NotNull(method);
            var ptx = IlgpuPtxCompiler.Compile(method, kernel.Name).Ptx;
            Assert.Contains("cvt.rn.satfinite.e4m3x2.f32", ptx);
            Assert.Contains(".target sm_89", ptx);
            Assert.Contains(".version 8.1", ptx); // ptxas takes the E4M3 conversions on sm_89 from PTX ISA 8.1
            var inputs = KernelChecks.RandomInputs(kernel, 3, io, random.Next());
            var first = inputs[0];
            // Midpoints between neighbouring E4M3 values (ties), subnormals (2⁻⁹ steps below 2⁻⁶) and the saturation.
            var special = new[] { 0f, -0f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 448f, -448f, 450f, 464f, 10000f,
                0.0009765625f, 0.0029296875f, -0.0048828125f, 0.015625f, 0.0146484375f, 1.0625f, 1.1875f, -3.25f, 240f, 248f };
            var values = Enumerable.Range(0, (int)first.Shape.ElementCount)
                .Select(i => i < special.Length ? special[i] : (float)(random.NextDouble() * 1200 - 600) * (i % 2 == 0 ? 1 : 1e-3f)).ToArray();
            for (int e = 0; e < values.Length; e++)
                if (first.DType == DType.Float16) first.Span<Half>()[e] = (Half)values[e]; // each special value is a half too
                else first.Span<float>()[e] = values[e];
            var expected = CpuBackend.Instance.Run(kernel, 3, io, [.. inputs]);
            var actual = _cpu.Run(kernel, 3, io, inputs);
            int codes = 0;
            for (int o = 0; o < actual.Length; o++)
            {
                if (actual[o].DType != DType.Float8E4M3) continue;
                var want = ((CpuTensor)expected[o]).Span<byte>().ToArray();
                var got = actual[o].Span<byte>().ToArray();
                static bool Same(byte a, byte b) => a == b || ((a & 0x7F) == 0x7F && (b & 0x7F) == 0x7F);
                int at = -1;
                for (int e = 0; e < want.Length && at < 0; e++) if (!Same(want[e], got[e])) at = e;
                Assert.True(at < 0, $"{kernel.Name} output {o}: code 0x{(at < 0 ? 0 : got[at]):X2} at {at}, the interpreter's 0x{(at < 0 ? 0 : want[at]):X2}");
                codes += want.Length;
            }
            Assert.True(codes > 0);
            KernelChecks.DisposeAll([.. inputs, .. expected, .. actual]);
        }
    }

    /// <summary>
    /// A kernel that reads E4M3 codes and rounds floats to E4M3 (loop IR written here: both directions of the conversion), printed and
    /// compiled with Roslyn: its PTX decodes and encodes with the GPU's conversions (target sm_89), and on ILGPU's CPU accelerator every
    /// one of the 256 codes decodes, and values across ±600 with each code's midpoints round, as the interpreter does, bit for bit.
    /// </summary>
    [Fact]
    public void IlgpuFp8LoadsDecodeEveryCodeAsTheInterpreter()
    {
        var ir = LoopIrText.Parse($"""
            kernel f8_codes_roundtrip
            domain [N, 512]
            in codes f8 [N, 512]
            in values f32 [N, 512]
            out decoded f32 [N, 512]
            out rounded f8 [N, 512]
            %0 = load codes[512*v0 + v1]
            store decoded[512*v0 + v1] = %0
            %2 = load values[512*v0 + v1]
            %3 = {ScalarOps.Name(ScalarOp.RoundF8)} %2
            store rounded[512*v0 + v1] = %3
            """);
        var (kernel, ptx) = FromLoopIr(ir, "IlgpuFp8Codes");
        Assert.Contains("cvt.rn.f16x2.e4m3x2", ptx);
        Assert.Contains("cvt.rn.satfinite.e4m3x2.f32", ptx);
        Assert.Contains(".target sm_89", ptx);
        Assert.Contains(".version 8.1", ptx);
        var random = new Random();
        using var codes = CpuTensor.Zeros(DType.Float8E4M3, 2, 512);
        using var values = CpuTensor.Zeros(DType.Float32, 2, 512);
        for (int i = 0; i < 1024; i++)
        {
            codes.Span<byte>()[i] = (byte)i;
            float a = Fusion.Quantization.Float8E4M3.Decode((byte)(i % 255)), b = Fusion.Quantization.Float8E4M3.Decode((byte)(i % 255 + 1));
            values.Span<float>()[i] = i % 3 == 0 && !float.IsNaN(a + b) ? (a + b) / 2 : (float)(random.NextDouble() * 1200 - 600);
        }
        var expected = CpuBackend.Instance.Run(kernel, 2, DType.Float32, [codes, values]);
        var actual = _cpu.Run(kernel, 2, DType.Float32, [codes, values]);
        var (wantDecoded, gotDecoded) = (((CpuTensor)expected[0]).Span<float>().ToArray(), actual[0].Span<float>().ToArray());
        for (int i = 0; i < 1024; i++)
            Assert.True(float.IsNaN(wantDecoded[i]) ? float.IsNaN(gotDecoded[i]) : wantDecoded[i] == gotDecoded[i], $"code 0x{i % 256:X2}: {gotDecoded[i]}, the interpreter's {wantDecoded[i]}");
        Assert.Equal(((CpuTensor)expected[1]).Span<byte>().ToArray(), actual[1].Span<byte>().ToArray());
        KernelChecks.DisposeAll([.. expected, .. actual]);
    }

    /// <summary>A kernel written here as loop IR: its ILGPU text compiled with Roslyn into an assembly of its own, and that kernel's PTX (float32 io).</summary>
    private static (GeneratedKernel Kernel, string Ptx) FromLoopIr(LoopKernel ir, string assemblyName)
    {
        var assembly = PrintedIlgpu.Compile(assemblyName, $"public static class K0\n{{\n{IlgpuKernelPrinter.PrintAll(ir)}}}\n");
        var kernel = new GeneratedKernel(ir.Name, LoopIrText.Print(ir), CudaKernelPrinter.Print(ir).Source, KernelMapping.Of(ir).Launch.Encode(),
            assembly.GetType($"{assemblyName}.K0", throwOnError: true));
        return (kernel, IlgpuPtxCompiler.Compile(kernel.IlgpuMethod(DType.Float32)!, kernel.Name).Ptx);
    }

    /// <summary>
    /// The loop IR's one Gelu operation in ILGPU (KernelMath.Gelu): its PTX has one rcp.approx and one ex2.approx an element and no
    /// call or software exp (the intrinsic redirections held), and on ILGPU's CPU accelerator it is the interpreter's GELU within both
    /// forms' errors against erf in double (GeluOperationTests: ½·|x|·6e-7 + 4 ulps and ½·|x|·1e-7 + 2 ulps), −0 far below zero.
    /// </summary>
    [Fact]
    public void IlgpuGeluIsOneReciprocalAndOneExp2AnElement() =>
        OneReciprocalAndOneExp2AnElement(ScalarOp.Gelu, "IlgpuGeluAlone", v => 0.5 * Math.Abs(v) * 7e-7);

    /// <summary>
    /// The loop IR's GeluTanh operation in ILGPU (KernelMath.GeluTanh, x·σ(2u)): the same PTX shape as the Gelu's, and on ILGPU's CPU
    /// accelerator the interpreter's form (VectorMath.GeluTanh, the same steps) within u's and the exponential's last bits,
    /// |x|·(1 + |u|)·6e-7 + 6 ulps; −0 far below zero.
    /// </summary>
    [Fact]
    public void IlgpuGeluTanhIsOneReciprocalAndOneExp2AnElement() =>
        OneReciprocalAndOneExp2AnElement(ScalarOp.GeluTanh, "IlgpuGeluTanhAlone", v => Math.Abs(v) * (1 + Math.Abs(0.8 * v + 0.036 * v * v * v)) * 6e-7);

    /// <summary>The operation alone over [3, 96]: its PTX, then ILGPU's CPU accelerator against the interpreter within <paramref name="error"/>(x) + 6 ulps.</summary>
    private void OneReciprocalAndOneExp2AnElement(ScalarOp op, string name, Func<double, double> error)
    {
        var ir = LoopIrText.Parse($"""
            kernel {ScalarOps.Name(op)}_alone
            domain [N, 96]
            in x f32 [N, 96]
            out y f32 [N, 96]
            %0 = load x[96*v0 + v1]
            %1 = {ScalarOps.Name(op)} %0
            store y[96*v0 + v1] = %1
            """);
        var (kernel, ptx) = FromLoopIr(ir, name);
        int reciprocals = ptx.Split("rcp.approx").Length - 1, exponentials = ptx.Split("ex2.approx").Length - 1;
        Assert.True(reciprocals > 0 && reciprocals == exponentials, $"{op}: {reciprocals} rcp.approx against {exponentials} ex2.approx");
        Assert.DoesNotContain("call", ptx);
        Assert.DoesNotContain("lg2", ptx);
        var random = new Random();
        using var x = CpuTensor.Zeros(DType.Float32, 3, 96);
        for (int i = 0; i < 288; i++) x.Span<float>()[i] = i == 0 ? -20f : (float)(random.NextDouble() * 16 - 8);
        var expected = CpuBackend.Instance.Run(kernel, 3, DType.Float32, [x]);
        var actual = _cpu.Run(kernel, 3, DType.Float32, [x]);
        var (want, got) = (((CpuTensor)expected[0]).Span<float>().ToArray(), actual[0].Span<float>().ToArray());
        Assert.True(got[0] == 0 && float.IsNegative(got[0]), $"{op}(−20) = {got[0]:R} on ILGPU's CPU accelerator, not −0");
        for (int i = 0; i < 288; i++)
        {
            float v = x.Span<float>()[i];
            double bound = error(v) + 6 * Tolerance.Ulp(want[i]);
            Assert.True(Math.Abs(got[i] - want[i]) <= bound, $"{op}({v:R}): ILGPU {got[i]:R}, the interpreter {want[i]:R}");
        }
        KernelChecks.DisposeAll([.. expected, .. actual]);
    }

    /// <summary>
    /// KernelMath's FP8 conversions as ILGPU's CPU accelerator runs them (their C# bodies) against the CPU codec <see cref="Fusion.Quantization.Float8E4M3"/>:
    /// every code decodes to the same value, and 200,000 floats (random magnitudes from 2⁻¹² to 2¹⁰, each code's value and the
    /// midpoints between neighbours, ±∞, NaN) encode to the same code.
    /// </summary>
    [Fact]
    public void KernelMathFp8ConversionsMatchTheCodec()
    {
        for (int c = 0; c < 256; c++)
        {
            float want = Fusion.Quantization.Float8E4M3.Decode((byte)c), got = KernelMath.DecodeF8((ushort)c);
            Assert.True(float.IsNaN(want) ? float.IsNaN(got) : BitConverter.SingleToInt32Bits(want) == BitConverter.SingleToInt32Bits(got), $"code 0x{c:X2}: {got}, the codec's {want}");
        }
        var random = new Random();
        var values = new List<float> { float.PositiveInfinity, float.NegativeInfinity, float.NaN, 0f, -0f, float.Epsilon, 1e30f, -1e30f };
        for (int c = 0; c < 255; c++)
        {
            float a = Fusion.Quantization.Float8E4M3.Decode((byte)c), b = Fusion.Quantization.Float8E4M3.Decode((byte)(c + 1));
            if (float.IsNaN(a) || float.IsNaN(b) || (c & 0x7F) == 0x7F) continue;
            values.AddRange([a, (a + b) / 2, -(a + b) / 2, MathF.BitIncrement((a + b) / 2), MathF.BitDecrement((a + b) / 2)]);
        }
        while (values.Count < 200_000) values.Add((random.Next(2) == 0 ? -1 : 1) * MathF.Pow(2, (float)(random.NextDouble() * 22 - 12)));
        foreach (var v in values)
        {
            byte want = Fusion.Quantization.Float8E4M3.Encode(v);
            ushort got = KernelMath.EncodeF8(v);
            Assert.True(got == want, $"{v:R}: code 0x{got:X2}, the codec's 0x{want:X2}");
            float round = KernelMath.RoundF8(v), decoded = Fusion.Quantization.Float8E4M3.Decode(want);
            Assert.True(float.IsNaN(decoded) ? float.IsNaN(round) : round == decoded, $"RoundF8({v:R}) = {round}, the codec's {decoded}");
        }
    }
}
