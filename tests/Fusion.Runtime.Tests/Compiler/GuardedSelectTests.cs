using Fusion.Compiler;
using Fusion.Testing;

namespace Fusion.Runtime.Tests.Compiler;

/// <summary>
/// The CPU interpreter's shortcut for a padded window's gather as lowering writes it, where(inside B, load … when B else v, v): the
/// select's value is the load's, and a predicate only such selects read is not evaluated. An im2col of 3 taps × 4 channels over 5
/// pixels (the taps move along the row, the pixel per row), its padding value nonzero, against a direct reference; with the select's
/// other operand equal to the padding value (the shortcut) and different from it (then the load takes the select's padding value
/// when nothing else reads it), with the predicate also read by another operation (so it is still evaluated), and with the load also
/// read by another operation (so it keeps its own padding value). And a max pool as lowering writes it (the load pads with 0, the
/// select with −∞) on a strided walk, against a direct reference.
/// </summary>
public class GuardedSelectTests
{
    private static string Kernel(double selectOther, bool predicateReadTwice, bool loadReadTwice) => $"""
        kernel guarded_select
        domain [N, 5, 12]
        in x f32 [N, 5, 4]
        out y f32 [N, 5, 12]
        {(predicateReadTwice || loadReadTwice ? "out z f32 [N, 5, 12]\n" : "")}%0 = const {selectOther}
        %1 = load x[20*v0 + 4*v1 + 4*(v2 / 4) + (v2 % 4) - 4] when 1 <= (v2 / 4) + v1 < 6 else -3
        %2 = inside 1 <= (v2 / 4) + v1 < 6
        %3 = where %2 %1 %0
        store y[60*v0 + 12*v1 + v2] = %3
        {(predicateReadTwice ? "%5 = mul %2 %1\nstore z[60*v0 + 12*v1 + v2] = %5\n" : "")}{(loadReadTwice ? "%5 = add %1 %1\nstore z[60*v0 + 12*v1 + v2] = %5\n" : "")}
        """;

    [Theory]
    [InlineData(-3.0, false, false)] // the select gives back the load (its padding value -3)
    [InlineData(-3.0, true, false)]
    [InlineData(-3.0, false, true)]
    [InlineData(2.5, false, false)]  // not the load's padding value: the load, read by nothing else, pads with 2.5
    [InlineData(2.5, true, false)]
    [InlineData(2.5, false, true)]   // the load read twice: it pads with -3, the select picks 2.5 in the padding
    public void APaddedGatherSelectMatchesItsDefinition(double selectOther, bool predicateReadTwice, bool loadReadTwice)
    {
        int seed = TestData.NewSeed();
        const int batch = 3;
        var kernel = new GeneratedKernel("guarded_select", Kernel(selectOther, predicateReadTwice, loadReadTwice), "", "256,1024,5,1");
        var x = TestData.Random(seed, batch, 5, 4);
        using var input = x.ToCpu();
        var outputs = CpuBackend.Instance.Run(kernel, batch, DType.Float32, input);
        try
        {
            var y = RefTensor.FromCpu((CpuTensor)outputs[0]).Data;
            var z = predicateReadTwice || loadReadTwice ? RefTensor.FromCpu((CpuTensor)outputs[1]).Data : null;
            for (int b = 0; b < batch; b++)
                for (int p = 0; p < 5; p++)
                    for (int e = 0; e < 12; e++)
                    {
                        int source = p + e / 4 - 1;
                        bool inside = source >= 0 && source < 5;
                        double loaded = inside ? x.Data[(b * 5 + source) * 4 + e % 4] : -3;
                        int at = (b * 5 + p) * 12 + e;
                        Assert.Equal((float)(inside ? loaded : selectOther), (float)y[at]);
                        if (predicateReadTwice) Assert.Equal((float)(inside ? loaded : 0), (float)z![at]);
                        if (loadReadTwice) Assert.Equal((float)(2 * loaded), (float)z![at]);
                    }
        }
        finally
        {
            foreach (var t in outputs) t.Dispose();
        }
    }

    /// <summary>
    /// A 3 × 3 stride-2 max pool with padding 1 over a channels-last [N, 7, 5, 3] image, as lowering writes it (ResNet's): the tap's
    /// load pads with 0, the select with −∞, and the maximum runs over the 9 taps as a strided walk. Every window holds at least one
    /// pixel, so a padding value of 0 reaching the maximum would show wherever a window's pixels are all negative (the inputs are
    /// shifted down so that many are).
    /// </summary>
    [Fact]
    public void AMaxPoolsPaddingIsMinusInfinity()
    {
        int seed = TestData.NewSeed();
        const int batch = 3, h = 7, w = 5, c = 3, oh = 4, ow = 3;
        const string bounds = "1 <= (v4 / 3) + 2*v1 < 8; 1 <= (v4 % 3) + 2*v2 < 6";
        string ir = $"""
            kernel max_pool_padded
            domain [N, {oh}, {ow}, {c}] reduce v4 9
            in x f32 [N, {h}, {w}, {c}]
            out y f32 [N, {oh}, {ow}, {c}]
            %0 = const -Infinity
            %1 = load x[105*v0 + 30*v1 + 15*(v4 / 3) + 6*v2 + 3*(v4 % 3) + v3 - 18] when {bounds} else 0
            %2 = inside {bounds}
            %3 = where %2 %1 %0
            %4 = reduce.max %3
            store y[36*v0 + 9*v1 + 3*v2 + v3] = %4
            """;
        var kernel = new GeneratedKernel("max_pool_padded", ir, "", "256,1024,36,1");
        var x = TestData.Random(seed, batch, h, w, c);
        for (int i = 0; i < x.Data.Length; i++) x.Data[i] -= 0.75;
        using var input = x.ToCpu();
        var outputs = CpuBackend.Instance.Run(kernel, batch, DType.Float32, input);
        try
        {
            var y = RefTensor.FromCpu((CpuTensor)outputs[0]).Data;
            int negative = 0;
            for (int b = 0; b < batch; b++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++)
                        for (int ch = 0; ch < c; ch++)
                        {
                            double best = double.NegativeInfinity;
                            for (int dy = 0; dy < 3; dy++)
                                for (int dx = 0; dx < 3; dx++)
                                {
                                    int r = 2 * i + dy - 1, col = 2 * j + dx - 1;
                                    if (r >= 0 && r < h && col >= 0 && col < w) best = Math.Max(best, (float)x.Data[((b * h + r) * w + col) * c + ch]);
                                }
                            if (best < 0) negative++;
                            Assert.Equal((float)best, (float)y[((b * oh + i) * ow + j) * c + ch]);
                        }
            Assert.True(negative > 0, "no window was all negative: the test would not see a padding of 0");
        }
        finally
        {
            foreach (var t in outputs) t.Dispose();
        }
    }
}

