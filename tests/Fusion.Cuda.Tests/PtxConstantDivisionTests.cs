using Fusion.Ilgpu;

namespace Fusion.Cuda.Tests;

/// <summary>
/// The rewrite of ILGPU's divisions by an immediate (<see cref="PtxConstantDivision"/>): the sequence it emits, computed in C#, equals
/// C#'s truncating division and remainder for every divisor the Swin-T kernels use and a few beyond, on the int32 edges and on fresh
/// random dividends of both signs; the PTX of a generated kernel has none left; and the text it writes keeps a dividend that is also
/// the target intact. The GPU tests run the rewritten kernels.
/// </summary>
public sealed class PtxConstantDivisionTests
{
    private static readonly int[] s_divisors = [2, 3, 4, 5, 6, 7, 8, 12, 14, 16, 24, 28, 32, 48, 49, 56, 64, 96, 125, 192, 384, 641, 768, 3136, 1 << 20, 1_000_003, int.MaxValue];

    public static TheoryData<int> Divisors() => [.. s_divisors];

    [Theory]
    [MemberData(nameof(Divisors))]
    public void TheSequenceDividesLikeCSharp(int d)
    {
        var rng = new Random(Random.Shared.Next());
        var xs = new List<int> { 0, 1, -1, d - 1, d, d + 1, -d + 1, -d, -d - 1, int.MaxValue, int.MinValue, int.MaxValue - 1, int.MinValue + 1 };
        for (int i = 0; i < 20000; i++) xs.Add(rng.Next(int.MinValue, int.MaxValue));
        for (int i = 0; i < 2000; i++) xs.Add((int)Math.Clamp(rng.NextInt64(-4L * d, 4L * d), int.MinValue, int.MaxValue));
        foreach (int x in xs)
        {
            int q = PtxConstantDivision.Divide(x, d);
            Assert.True(q == x / d, $"{x} / {d}: the sequence gives {q}, C# {x / d}");
            Assert.True(x - q * d == x % d, $"{x} % {d}: the sequence gives {x - q * d}, C# {x % d}");
        }
    }

    [Fact]
    public void TheRewrittenTextReadsTheDividendBeforeWritingTheTarget()
    {
        string ptx = "\tdiv.s32\t%r4, %r3, 49;\n\trem.s32\t%r5, %r5, 16;\n\t@%p1 div.s32\t%r6, %r3, 7;\n\tdiv.s32\t%r7, %r3, %r2;\n\trem.s32\t%r8, %r3, 1;\n";
        string rewritten = PtxConstantDivision.Rewrite(ptx);
        var magic = PtxConstantDivision.For(49);
        Assert.Contains($"mul.hi.s32 %fusion_q, %r3, {magic.Multiplier};", rewritten);
        Assert.Contains("mov.b32 %r4, %fusion_q;", rewritten);
        // rem by 16 into its own dividend: q from %r5, then %r5 = %r5 − q·16 (the dividend read before the write).
        Assert.Contains("shr.s32 %fusion_t, %r5, 31;", rewritten);
        Assert.Contains("sub.s32 %r5, %r5, %fusion_t;", rewritten);
        // x % 1 is 0; left alone: a predicated division, a division by a register.
        Assert.Contains("mov.b32 %r8, 0;", rewritten);
        Assert.Contains("@%p1 div.s32\t%r6, %r3, 7;", rewritten);
        Assert.Contains("div.s32\t%r7, %r3, %r2;", rewritten);
    }

    [Fact]
    public void AGeneratedKernelsPtxHasNoDivisionByAnImmediateLeft()
    {
        var kernel = IlgpuKernels.SwinBlocks().First(k => k.Name.Contains("window_partition", StringComparison.Ordinal));
        var (ptx, _) = IlgpuPtxCompiler.Compile(kernel.IlgpuMethod(DType.Float16)!, kernel.Name);
        Assert.DoesNotMatch(@"(?m)^\s*(div|rem)\.s32\s+%\w+,\s*%\w+,\s*\d+;", ptx);
        Assert.Contains("mul.hi.s32", ptx);
    }
}
