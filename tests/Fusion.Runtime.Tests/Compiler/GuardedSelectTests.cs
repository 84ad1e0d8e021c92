using Fusion.Compiler;
using Fusion.Testing;

namespace Fusion.Runtime.Tests.Compiler;

/// <summary>
/// The CPU interpreter's shortcut for a padded window's gather as lowering writes it, where(inside B, load … when B else v, v): the
/// select's value is the load's, and a predicate only such selects read is not evaluated. An im2col of 3 taps × 4 channels over 5
/// pixels (the taps move along the row, the pixel per row), its padding value nonzero, against a direct reference; with the select's
/// other operand equal to the padding value (the shortcut) and different from it (the select must pick), and with the predicate also
/// read by another operation (so it is still evaluated).
/// </summary>
public class GuardedSelectTests
{
    private static string Kernel(double selectOther, bool predicateReadTwice) => $"""
        kernel guarded_select
        domain [N, 5, 12]
        in x f32 [N, 5, 4]
        out y f32 [N, 5, 12]
        {(predicateReadTwice ? "out z f32 [N, 5, 12]\n" : "")}%0 = const {selectOther}
        %1 = load x[20*v0 + 4*v1 + 4*(v2 / 4) + (v2 % 4) - 4] when 1 <= (v2 / 4) + v1 < 6 else -3
        %2 = inside 1 <= (v2 / 4) + v1 < 6
        %3 = where %2 %1 %0
        store y[60*v0 + 12*v1 + v2] = %3
        {(predicateReadTwice ? "%5 = mul %2 %1\nstore z[60*v0 + 12*v1 + v2] = %5\n" : "")}
        """;

    [Theory]
    [InlineData(-3.0, false)] // the select gives back the load (its padding value -3)
    [InlineData(-3.0, true)]
    [InlineData(2.5, false)]  // not the load's padding value: the select picks 2.5 in the padding
    [InlineData(2.5, true)]
    public void APaddedGatherSelectMatchesItsDefinition(double selectOther, bool predicateReadTwice)
    {
        int seed = TestData.NewSeed();
        const int batch = 3;
        var kernel = new GeneratedKernel("guarded_select", Kernel(selectOther, predicateReadTwice), "", "256,1024,5,1");
        var x = TestData.Random(seed, batch, 5, 4);
        using var input = x.ToCpu();
        var outputs = CpuBackend.Instance.Run(kernel, batch, DType.Float32, input);
        try
        {
            var y = RefTensor.FromCpu((CpuTensor)outputs[0]).Data;
            var z = predicateReadTwice ? RefTensor.FromCpu((CpuTensor)outputs[1]).Data : null;
            for (int b = 0; b < batch; b++)
                for (int p = 0; p < 5; p++)
                    for (int e = 0; e < 12; e++)
                    {
                        int source = p + e / 4 - 1;
                        bool inside = source >= 0 && source < 5;
                        double loaded = inside ? x.Data[(b * 5 + source) * 4 + e % 4] : -3;
                        int at = (b * 5 + p) * 12 + e;
                        Assert.Equal((float)(inside ? loaded : selectOther), (float)y[at]);
                        if (z is not null) Assert.Equal((float)(inside ? loaded : 0), (float)z[at]);
                    }
        }
        finally
        {
            foreach (var t in outputs) t.Dispose();
        }
    }
}
