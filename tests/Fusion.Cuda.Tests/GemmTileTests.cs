using Fusion.Compiler;
using Fusion.Cuda.Gemm;
using Fusion.Kernels;

namespace Fusion.Cuda.Tests;

/// <summary>The template's tiles as the launcher describes them; no GPU needed.</summary>
public sealed class GemmTileTests
{
    /// <summary>
    /// Split-K tiles: clusters of 2, 4 and 8 thin blocks at 32 and 64 rows with the default columns, only as many as K has 64-byte
    /// k-steps, offered from compute capability 9.0 (after the other families) when asked for, named "32x96k4", specialized by their stages and splits.
    /// </summary>
    [Fact]
    public void SplitTilesAreOfferedOnHopperAndNamedBySplits()
    {
        var fc2 = GemmKernels.Linear(384, 1536, bias: true, Activation.None, residual: true);
        Assert.Equal([new GemmTile(32, 96, Splits: 2), new GemmTile(32, 96, Splits: 4), new GemmTile(32, 96, Splits: 8),
            new GemmTile(64, 96, Splits: 2), new GemmTile(64, 96, Splits: 4), new GemmTile(64, 96, Splits: 8)], GemmTile.SplitTiles(fc2));
        Assert.Equal([.. GemmTile.Candidates(384, hopper: true, tma: true), .. GemmTile.SplitTiles(fc2)], GemmTile.CandidatesFor(fc2, 90, splitK: true));
        Assert.Equal(GemmTile.Candidates(384, hopper: true, tma: true), GemmTile.CandidatesFor(fc2, 90, splitK: false));
        Assert.Equal(GemmTile.Candidates(384), GemmTile.CandidatesFor(fc2, 89, splitK: true));
        var shallow = GemmKernels.Linear(64, 40, bias: false, Activation.None, residual: false); // 80 bytes: 2 k-steps
        Assert.Equal([new GemmTile(32, 64, Splits: 2), new GemmTile(64, 64, Splits: 2)], GemmTile.SplitTiles(shallow));
        Assert.Empty(GemmTile.SplitTiles(GemmKernels.Linear(64, 32, bias: false, Activation.None, residual: false)));
        Assert.Equal(2, GemmTile.KSteps(GemmKernels.LinearInt8(64, 80, bias: false, Activation.None, residual: false)));
        Assert.False(new GemmTile(32, 96, Splits: 8).Runs(shallow, 90));
        var tile = new GemmTile(32, 96, Splits: 4);
        Assert.Equal("32x96k4", tile.ToString());
        Assert.Equal(tile, GemmTile.TryParse("32x96k4"));
        Assert.Equal(new GemmTile(64, 32, Splits: 8), GemmTile.TryParse("64x32k8"));
        Assert.Null(GemmTile.TryParse("32x96k3"));
        Assert.Null(GemmTile.TryParse("128x96k2"));
        Assert.Null(GemmTile.TryParse("128x128k2"));
        Assert.Null(GemmTile.TryParse("128x128hk2"));
        Assert.Null(GemmTile.TryParse("32x96k"));
        Assert.False(tile.Wide);
        Assert.Equal(64, tile.Threads);
        Assert.Equal(0, tile.DynamicSharedBytes);
        Assert.Equal(4, tile.Stages);
        Assert.Equal(3, new GemmTile(64, 96, Splits: 2).Stages);
        Assert.Equal(7 * 4, tile.Grid(196, 384, 132)); // grid x: one cluster a tile
        Assert.Equal(new Dim3(7 * 4, 4), tile.LaunchGrid(196, 384, 132)); // grid y: the cluster's blocks
        Assert.Equal(new Dim3(1, 4), tile.Cluster);
        Assert.Null(new GemmTile(32, 96).Cluster);
        Assert.Equal(new Dim3(7 * 4), new GemmTile(32, 96).LaunchGrid(196, 384, 132));
        Assert.Contains("#define FUSION_BM 32\n#define FUSION_BN 96\n#define FUSION_STAGES 4\n#define FUSION_GEMM_SPLITS 4\n#define FUSION_KERNEL ",
            tile.Specialize(fc2.CudaSource, 384), StringComparison.Ordinal);
    }
}
