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
        // A kernel without an ILGPU form (FP8 codes) is left out.
        return irs.Select((ir, i) => (ir, i)).Where(e => IlgpuKernelPrinter.Prints(e.ir))
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
}
