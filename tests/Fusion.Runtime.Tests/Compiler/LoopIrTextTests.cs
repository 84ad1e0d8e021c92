using Fusion.Compiler;

namespace Fusion.Runtime.Tests.Compiler;

/// <summary>
/// The loop IR's text form: the generator writes it into generated files and the CPU backend parses it back, so every kernel
/// the lowering can produce must print and parse to the same record, and malformed text must say which line is wrong.
/// </summary>
public class LoopIrTextTests
{
    public static TheoryData<int> SingleOps => new(Enumerable.Range(0, SingleOpKernels.Cases.Count));

    public static TheoryData<string> Groups => new(FusedGroups.All.Keys);

    [Theory]
    [MemberData(nameof(SingleOps))]
    public void SingleOperatorKernelRoundTrips(int index) => AssertRoundTrips(SingleOpKernels.Lower(index).Kernel);

    [Theory]
    [MemberData(nameof(Groups))]
    public void FusedGroupKernelRoundTrips(string name) => AssertRoundTrips(FusedGroups.Get(name).Lower().Kernel);

    [Fact]
    public void EveryLowerableOperatorHasARoundTripCase()
    {
        // A new pointwise, view or reduction descriptor must get a case (which the PTX and access-pattern checks also use).
        var lowerable = Ops.All.Where(d => d.Class is OpClass.Pointwise or OpClass.View or OpClass.Reduction).Select(d => d.Name);
        var missing = lowerable.Except(SingleOpKernels.Cases.Select(c => c.Op)).Except(SingleOpKernels.NotLowered).OrderBy(n => n).ToList();
        Assert.True(missing.Count == 0, $"no single-operator round-trip case for: {string.Join(", ", missing)}");
    }

    [Fact]
    public void SpecialConstantsRoundTrip()
    {
        // Infinite clamp bounds, −∞ fills and NaN pads must survive the text exactly (R format, parsed back invariantly).
        var kernel = LoopIrText.Parse("""
            kernel specials
            domain [N, 3]
            in x io [N, 3]
            out y io [N, 3]
            %0 = load x[3*v0 + v1] when 1 <= v1 < 3 else -Infinity
            %1 = const NaN
            %2 = const Infinity
            %3 = const 1E-07
            %4 = min %0 %2
            %5 = where %4 %1 %3
            store y[3*v0 + v1] = %5
            """);
        Assert.Equal(double.NegativeInfinity, ((LoadInstr)kernel.Body[0]).Otherwise);
        Assert.True(double.IsNaN(((ConstInstr)kernel.Body[1]).Value));
        Assert.Equal(1e-7, ((ConstInstr)kernel.Body[3]).Value);
        AssertRoundTrips(kernel);
    }

    private const string Valid = """
        kernel sample
        domain [N, 5] reduce v1 5
        in x f32 [N, 5]
        out y f16 [N, 5]
        %0 = load x[5*v0 + v1]
        %1 = reduce.sum %0
        %2 = const 0.2
        %3 = mul %1 %2
        %4 = sub %0 %3
        store y[5*v0 + v1] = %4
        """;

    [Fact]
    public void TheSampleIsValid() => AssertRoundTrips(LoopIrText.Parse(Valid));

    [Theory]
    [InlineData(0, "kernal sample")]
    [InlineData(1, "domain N, 5")]
    [InlineData(1, "domain [N, 5] reduce 1 5")]
    [InlineData(1, "domain [N, 5] reduce vq 5")]
    [InlineData(1, "domain [N, 5] reduce v1 99999999999999999999")]
    [InlineData(2, "inout x f32 [N, 5]")]
    [InlineData(2, "in x f64 [N, 5]")]
    [InlineData(2, "in x f32")]
    [InlineData(2, "in x f32 [N, five]")]
    [InlineData(4, "%0 = load z[5*v0 + v1]")]
    [InlineData(4, "%0 = load x[5*v0 +]")]
    [InlineData(4, "%0 = load x[5*v0 + v1] when 0 <= v1 else 0")]
    [InlineData(5, "%1 = reduce.avg %0")]
    [InlineData(6, "%2 = const zero")]
    [InlineData(7, "%3 = mul %1")]
    [InlineData(7, "%3 = mul %1 %7")]
    [InlineData(7, "%3 = frobnicate %1 %2")]
    [InlineData(8, "%5 = sub %0 %3")]
    [InlineData(9, "store y[5*v0 + v1] %4")]
    [InlineData(9, "store y[5*v0 + (v1] = %4")]
    public void MalformedLineThrowsFormatExceptionNamingIt(int line, string replacement)
    {
        var lines = Valid.Split('\n');
        lines[line] = replacement;
        var e = Assert.Throws<FormatException>(() => LoopIrText.Parse(string.Join("\n", lines)));
        Assert.Contains($"'{replacement}'", e.Message);
    }

    private const string Pooled = """
        kernel pooled
        domain [N, 7, 6]
        in x f16 [N, 7, 6]
        out y f32 [N, 6]
        %0 = load x[42*v0 + 6*v1 + v2]
        %1 = const 0.14285714285714285
        %2 = mul %0 %1
        accumulate y[6*v0 + v2] += %2
        """;

    [Fact]
    public void AnAccumulatingStoreRoundTrips()
    {
        var kernel = LoopIrText.Parse(Pooled);
        var store = Assert.IsType<StoreInstr>(kernel.Body[3]);
        Assert.True(store.Accumulate);
        Assert.True(kernel.Accumulates);
        Assert.Equal([1], kernel.AccumulatedBuffers.ToArray());
        AssertRoundTrips(kernel);
    }

    [Theory]
    [InlineData("out y f32 [N, 6]", "out y f16 [N, 6]", "float32")] // adds in f16 would round each partial sum
    [InlineData("domain [N, 7, 6]", "domain [N, 7, 6] reduce v1 7", "without a reduction")]
    [InlineData("accumulate y[6*v0 + v2] += %2", "accumulate y[6*v0 + v2] = %2", "accumulate NAME[OFFSET] += %K")]
    public void AnAccumulatingStoreIsRefusedWhereItsAddsWouldBeWrong(string line, string replacement, string why)
    {
        var e = Assert.Throws<FormatException>(() => LoopIrText.Parse(Pooled.Replace(line, replacement)));
        Assert.Contains("accumulate y[6*v0 + v2]", e.Message);
        Assert.Contains(why, e.Message);
    }

    [Fact]
    public void TruncatedTextSaysWhatIsMissing()
    {
        var e = Assert.Throws<FormatException>(() => LoopIrText.Parse("kernel only_a_name\n"));
        Assert.Contains("domain", e.Message);
    }

    [Fact]
    public void AGeneratedKernelWithMalformedIrNamesTheKernel()
    {
        // What a stale generated file meets at run time: the runtime's error names the kernel, the line and the remedy.
        var broken = new GeneratedKernel("sample", Valid.Replace("reduce.sum", "reduce.avg"), "", "256,1024,5,1");
        using var x = CpuTensor.Zeros(DType.Float32, 2, 5);
        var e = Assert.Throws<FusionException>(() => CpuBackend.Instance.Run(broken, 2, DType.Float32, x));
        Assert.Contains("sample", e.Message);
        Assert.Contains("%1 = reduce.avg %0", e.Message);
        Assert.Contains("rebuild", e.Message);
        var renamed = new GeneratedKernel("other", Valid, "", "256,1024,5,1");
        Assert.Contains("'sample'", Assert.Throws<FusionException>(() => CpuBackend.Instance.Run(renamed, 2, DType.Float32, x)).Message);
    }

    private static void AssertRoundTrips(LoopKernel kernel)
    {
        var text = LoopIrText.Print(kernel);
        var parsed = LoopIrText.Parse(text);
        Assert.Equal(text, LoopIrText.Print(parsed));
        Assert.True(kernel.Equals(parsed), $"parsed kernel differs from the printed one:\n{text}");
    }
}
