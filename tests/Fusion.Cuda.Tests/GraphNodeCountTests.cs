using Fusion.Cuda.Native;

namespace Fusion.Cuda.Tests;

/// <summary>
/// A captured graph's nodes counted by kind without a GPU (CudaGraphTests checks a real capture: two kernels and a memset): each
/// kind in its own count, kinds Fusion's captures do not make as other, and the text fusion-run prints naming only what is there.
/// </summary>
public sealed class GraphNodeCountTests
{
    [Fact]
    public void EachKindIsCountedOnce()
    {
        CuGraphNodeType[] kinds =
        [
            CuGraphNodeType.Kernel, CuGraphNodeType.EventRecord, CuGraphNodeType.Kernel, CuGraphNodeType.Memset, CuGraphNodeType.Memcpy,
            CuGraphNodeType.Kernel, CuGraphNodeType.Host, CuGraphNodeType.EventRecord, CuGraphNodeType.Empty, (CuGraphNodeType)12,
        ];
        Assert.Equal(new GraphNodeCount(Kernels: 3, Copies: 1, Memsets: 1, EventRecords: 2, Other: 3), GraphNodeCount.Of(kinds));
        Assert.Equal(default, GraphNodeCount.Of([]));
    }

    [Theory]
    [InlineData(71, 0, 0, 0, 0, "71 kernels")]
    [InlineData(1, 1, 1, 1, 1, "1 kernel, 1 copy, 1 memset, 1 event record, 1 other node")]
    [InlineData(83, 2, 3, 84, 0, "83 kernels, 2 copies, 3 memsets, 84 event records")]
    [InlineData(0, 0, 0, 0, 2, "0 kernels, 2 other nodes")]
    public void TheTextNamesWhatIsThere(int kernels, int copies, int memsets, int events, int other, string text) =>
        Assert.Equal(text, new GraphNodeCount(kernels, copies, memsets, events, other).ToString());
}
