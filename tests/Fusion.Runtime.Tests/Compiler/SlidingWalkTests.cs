using Fusion.Compiler;
using Fusion.Testing;

namespace Fusion.Runtime.Tests.Compiler;

/// <summary>
/// The strided mapping's several pixels a thread (<see cref="KernelMapping.Slide"/>) and the plan both printers print from
/// (<see cref="SlidingWalk"/>): which kernels take it, and that overlapping windows load each input column once. Whether the
/// printed kernels compute the right values is the GPU catalog's business (and, for the ILGPU form, IlgpuCatalogTests on the
/// CPU accelerator); here the load counts, which a broken substitution or key would change.
/// </summary>
public class SlidingWalkTests
{
    /// <summary>ConvNeXt-T's last-stage depthwise 7×7, padding 3, as the generator lowers it, on a W × W image of C channels.</summary>
    private static LoopKernel Depthwise7x7(int width, int channels)
    {
        long pixel = channels, row = (long)width * channels, image = row * width;
        return LoopIrText.Parse($"""
            kernel depthwise_7x7_w{width}_c{channels}
            domain [N, {width}, {width}, {channels}] reduce v4 49
            in in0 f16 [N, {width}, {width}, {channels}]
            in in1 f16 [49, {channels}]
            out out0 f16 [N, {width}, {width}, {channels}]
            %0 = const 0
            %1 = load in0[{pixel}*(v4 % 7) + {row}*(v4 / 7) + {image}*v0 + {row}*v1 + {pixel}*v2 + v3 - {3 * row + 3 * pixel}] when 3 <= (v4 / 7) + v1 < {width + 3}; 3 <= (v4 % 7) + v2 < {width + 3} else 0
            %2 = inside 3 <= (v4 / 7) + v1 < {width + 3}; 3 <= (v4 % 7) + v2 < {width + 3}
            %3 = where %2 %1 %0
            %4 = load in1[v3 + {channels}*v4]
            %5 = mul %3 %4
            %6 = reduce.sum %5
            store out0[{image}*v0 + {row}*v1 + {pixel}*v2 + v3] = %6
            """);
    }

    /// <summary>A 3×3 max pool, stride 2, padding 1, of x [N, 9, 11, 16] into [N, 5, 6, 16] (−∞ outside the image).</summary>
    private static LoopKernel MaxPool3x3Stride2() => LoopIrText.Parse(MaxPool3x3Stride2Ir);

    /// <summary>The loop IR of <see cref="MaxPool3x3Stride2"/> (StridedWalkTests runs it on the CPU).</summary>
    internal const string MaxPool3x3Stride2Ir = """
        kernel max_pool_3x3_s2
        domain [N, 5, 6, 16] reduce v4 9
        in in0 f32 [N, 9, 11, 16]
        out out0 f32 [N, 5, 6, 16]
        %0 = load in0[1584*v0 + 352*v1 + 176*(v4 / 3) + 32*v2 + 16*(v4 % 3) + v3 - 192] when 1 <= (v4 / 3) + 2*v1 < 10; 1 <= (v4 % 3) + 2*v2 < 12 else -Infinity
        %1 = reduce.max %0
        store out0[480*v0 + 96*v1 + 16*v2 + v3] = %1
        """;

    private static int Loads(SlidingWalk walk, int buffer) =>
        walk.Actions.OfType<SlidingWalk.Compute>().Count(c => c.At is LoadInstr l && l.Buffer == buffer);

    [Fact]
    public void EightPixelsOfASevenBySevenDepthwiseLoadFourteenColumnsARowAndEachWeightOnce()
    {
        var k = Depthwise7x7(width: 56, channels: 96);
        var m = KernelMapping.Of(k);
        Assert.Equal((MappingKind.Strided, 2, 8), (m.Kind, m.Vector, m.Slide)); // 2 channels × 8 pixels: 16 accumulators
        Assert.Equal(56L * 56 * 96 / (2 * 8), m.Launch.UnitsPerBatch);
        var walk = new SlidingWalk(k, m);
        Assert.Equal(7 * (8 + 6), Loads(walk, 0)); // 8 pixels × 7 taps a row overlap in 14 columns
        Assert.Equal(49, Loads(walk, 1));          // the weight does not move with the pixel
        Assert.Equal(49 * 8, walk.Actions.OfType<SlidingWalk.Accumulate>().Count());
        var stores = walk.Actions.OfType<SlidingWalk.Store>().ToList();
        Assert.Equal(8, stores.Count);
        Assert.Equal(8, stores.Select(s => s.At.Offset).Distinct().Count());
    }

    [Fact]
    public void AStrideTwoPoolSharesTheColumnsItsPixelsHaveInCommon()
    {
        var k = MaxPool3x3Stride2();
        var m = KernelMapping.Of(k);
        Assert.Equal((2, 6), (m.Vector, m.Slide)); // the whole 6-pixel row, 2 channels each
        var walk = new SlidingWalk(k, m);
        Assert.Equal(3 * ((6 - 1) * 2 + 3), Loads(walk, 0)); // 3 rows × columns 0…12
        Assert.All(walk.Actions.OfType<SlidingWalk.Compute>().Select(c => (LoadInstr)c.At), l => Assert.Equal(double.NegativeInfinity, l.Otherwise));
    }

    [Theory]
    [InlineData(7, 768, 2, 7)]   // a row of at most 8 pixels is one thread's: no column loaded twice
    [InlineData(14, 384, 8, 2)]  // longer rows: the largest power of two up to 8 dividing them
    [InlineData(28, 192, 4, 4)]
    [InlineData(56, 96, 2, 8)]
    [InlineData(10, 12, 4, 2)]   // 12 channels move 4 at a time at most
    public void AThreadTakesAShortRowWholeAndALongOneInPowersOfTwo(int width, int channels, int vector, int pixels)
    {
        var m = KernelMapping.Of(Depthwise7x7(width, channels));
        Assert.Equal((vector, pixels), (m.Vector, m.Slide));
        Assert.True(m.Vector * m.Slide <= 16);
    }

    [Fact]
    public void AThreadTakesOnePixelWhereNoWindowMovesWithIt()
    {
        // Mean over the middle axis of [N, 49, 30]: the row variable outside the features is the batch, and no load is a window.
        var mean = LoopIrText.Parse("""
            kernel mean_tokens
            domain [N, 30] reduce v2 49
            in in0 f16 [N, 49, 30]
            out out0 f32 [N, 30]
            %0 = load in0[1470*v0 + 30*v2 + v1]
            %1 = reduce.sum %0
            %2 = const 0.02040816326530612
            %3 = mul %1 %2
            store out0[30*v0 + v1] = %3
            """);
        var m = KernelMapping.Of(mean);
        Assert.Equal((1, 2), (m.Slide, m.Vector));
    }

    [Fact]
    public void TheVariantsABenchmarkComparesKeepTheLaunchConsistent()
    {
        var k = Depthwise7x7(width: 14, channels: 384);
        var m = KernelMapping.StridedVariant(k, vector: 4, slide: 8);
        Assert.Equal((4, 7), (m.Vector, m.Slide)); // 8 does not divide 14: the largest count that does
        Assert.Equal(14L * 14 * 384 / (4 * 7), m.Launch.UnitsPerBatch);
        Assert.Contains("× 7 along the next", CudaKernelPrinter.Print(k, m).Source);
    }

    [Theory]
    [InlineData("sm_80")]
    [InlineData("sm_90")]
    public void SlidingKernelsCompileToPtx(string arch)
    {
        ClangPtx.RequireCompiler();
        var kernels = new[] { Depthwise7x7(56, 96), Depthwise7x7(14, 36), MaxPool3x3Stride2() };
        Assert.All(kernels, k => Assert.True(KernelMapping.Of(k).Slide > 1, k.Name));
        var ptx = ClangPtx.Compile(string.Join("\n", kernels.Select(k => CudaKernelPrinter.Print(k).Source)), arch, "sliding");
        foreach (var k in kernels) Assert.Contains($".entry {k.Name}(", ptx);
    }
}
