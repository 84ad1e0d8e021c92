using Fusion.Compiler;

namespace Fusion.Runtime.Tests.Compiler;

/// <summary>
/// How many lanes share a row of a row reduction (<see cref="KernelMapping"/>): enough to cover it in one pass of one chunk a
/// lane; where 32 lanes would walk it in passes with some idle in the last, as many as split its chunks evenly (at most 4 a lane).
/// </summary>
public class RowLanesTests
{
    /// <summary>The sum of each row of an [N, C] fp16 tensor (the shape of a LayerNorm's first reduction), in chunks of 8 halves.</summary>
    private static KernelMapping RowSum(int c) => KernelMapping.Of(LoopIrText.Parse($"""
        kernel row_sum_{c}
        domain [N, {c}] reduce v1 {c}
        in in0 f16 [N, {c}]
        out out0 f32 [N]
        %0 = load in0[{c}*v0 + v1]
        %1 = reduce.sum %0
        store out0[v0] = %1
        """));

    [Theory]
    [InlineData(96, 16, 1)]    // 12 chunks: one pass, 4 of 16 lanes idle (kept: 4 lanes of 3 measured no faster)
    [InlineData(192, 32, 1)]   // 24 chunks: one pass
    [InlineData(384, 16, 3)]   // 48 chunks: 32 lanes would leave 16 idle in a second pass
    [InlineData(512, 32, 2)]   // 64 chunks: two full passes
    [InlineData(768, 32, 3)]   // 96 chunks: three full passes
    [InlineData(320, 32, 2)]   // 40 chunks: no even split of at most 4 a lane, so 32 lanes in two passes
    [InlineData(40, 8, 1)]     // 5 chunks
    public void LanesCoverARowOrSplitItEvenly(int c, int lanes, int perLane)
    {
        var m = RowSum(c);
        Assert.Equal(MappingKind.Row, m.Kind);
        Assert.Equal((8, lanes, perLane), (m.Vector, m.Lanes, m.PerLane));
    }
}
