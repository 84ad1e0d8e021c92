using Fusion.Cuda.Gemm;

namespace Fusion.Cuda.Tests;

/// <summary>
/// The GEMM template's read-back four columns a lane (<see cref="EpilogueQuads"/>, FUSION_EPILOGUE_QUADS) changes which thread finishes
/// which element, never a value: in every tile fast-run may pick (split-K ones included: they keep pairs), its output equals the
/// column-pair form's byte for byte (tolerance 0). Fresh random operands; the int8 plan's requantizing fc1 (int8 codes out, GELU),
/// fp16 outputs with a bias and with a residual; N a multiple of 32 and not (36, 100: a last chunk of the row only partly there),
/// m not a multiple of 16 or 128. The outputs start as 0xFF bytes, so an element one form skips shows; and each output is checked to
/// hold many distinct values, so the comparison is not of two blank buffers.
/// </summary>
public sealed class EpilogueQuadsGpuTests(GemmKernelFolder kernels) : GpuTestBase, IClassFixture<GemmKernelFolder>
{
    public static TheoryData<string, int, int, int> Cases() => new()
    {
        { "requantize", 333, 384, 96 },  // Swin-T's stage-1 fc1 in the int8 plan, m past two row tiles
        { "requantize", 77, 36, 48 },    // N a multiple of 4, not of 32
        { "bias", 200, 288, 96 },        // Swin-T's stage-1 qkv in fp16
        { "residual", 130, 100, 64 },    // bias + residual, N = 100
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void QuadsGiveThePairsBytes(string kind, int m, int n, int k)
    {
        using var c = new EpilogueGemmCase(Device, kind, n, k, m, new Random(Rng.Next()));
        var kernel = c.Kernel;
        Assert.Contains("#define FUSION_EPILOGUE_QUADS 1", kernel.CudaSource);
        using var quads = NewGemm(quads: true);
        using var pairs = NewGemm(quads: false);
        foreach (var tile in GemmTile.CandidatesFor(kernel, Device.ComputeCapability, splitK: true))
        {
            using var a = CudaTensor.Empty(Device, c.Output, m, n);
            using var b = CudaTensor.Empty(Device, c.Output, m, n);
            a.FillBytes(0xFF);
            b.FillBytes(0xFF);
            quads.RunWith(GemmPath.Generated, kernel, c.X, c.W, c.Epilogue, [a], m, DType.Float16, tile: tile);
            pairs.RunWith(GemmPath.Generated, kernel, c.X, c.W, c.Epilogue, [b], m, DType.Float16, tile: tile);
            using var ha = a.ToHost();
            using var hb = b.ToHost();
            var bytesA = ha.Bytes.ToArray();
            var bytesB = hb.Bytes.ToArray();
            int first = Enumerable.Range(0, bytesA.Length).FirstOrDefault(i => bytesA[i] != bytesB[i], -1);
            Assert.True(first < 0, first < 0 ? "" :
                $"{kernel.Name} tile {tile} m={m}: byte {first} (row {first / (n * (c.Int8 ? 1 : 2))}) is {bytesA[first]:X2} with quads, {bytesB[first]:X2} with pairs");
            int distinct = c.Int8 ? bytesA.Distinct().Count() : ha.ToFloatArray().Distinct().Count();
            Assert.True(distinct > (c.Int8 ? 50 : 1000), $"{kernel.Name} tile {tile}: only {distinct} distinct values in the output");
            Assert.DoesNotContain(ha.ToFloatArray(), float.IsNaN); // 0xFF bytes left: NaN in fp16, −1 in int8 (checked by the pairs' equality)
        }
    }

    private FusedGemm NewGemm(bool quads) =>
        new(Device, new KernelJit(Device, new KernelCache(kernels.Path)), GemmPolicy.Generated, choiceDirectory: CacheDirectory) { Quads = quads };
}
