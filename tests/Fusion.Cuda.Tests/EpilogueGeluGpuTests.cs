using Fusion.Cuda.Gemm;

namespace Fusion.Cuda.Tests;

/// <summary>
/// The GEMM template's epilogue GELU in the tanh form (<see cref="EpilogueGelu"/>, FUSION_GEMM_GELU=tanh) against the erf form, in
/// every tile fast-run may pick, on fresh random operands: fp16 outputs within 2e-3 + 1e-3·|erf's| of each other (the forms differ by
/// at most 4.8e-4; tanh.approx adds 2⁻¹¹ of |tanh| to the ½x·(1 + tanh), at most 1.5e-3 where the pre-activations here reach −6, and
/// each output is rounded to fp16 once), the int8 plan's requantized codes (a step of 6 / 127) at most one code apart and equal in at
/// least 90 % of the elements. Some fp16 outputs must differ, so the test fails if the option did not reach the compiler.
/// </summary>
public sealed class EpilogueGeluGpuTests(GemmKernelFolder kernels) : GpuTestBase, IClassFixture<GemmKernelFolder>
{
    public static TheoryData<string, int, int, int> Cases() => new()
    {
        { "gelu", 333, 384, 96 },        // Swin-T's stage-1 fc1 in fp16, m past two row tiles
        { "gelu", 77, 100, 48 },         // N not a multiple of 32
        { "residual", 130, 96, 64 },     // GELU, then the residual
        { "requantize", 333, 384, 96 },  // the int8 plan's stage-1 fc1
        { "requantize", 77, 36, 48 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void TheTanhFormStaysWithinItsStatedDistanceOfErf(string kind, int m, int n, int k)
    {
        using var c = new EpilogueGemmCase(Device, kind, n, k, m, new Random(Rng.Next()));
        using var tanh = NewGemm(tanh: true);
        using var erf = NewGemm(tanh: false);
        foreach (var tile in GemmTile.CandidatesFor(c.Kernel, Device.ComputeCapability, splitK: true))
        {
            using var a = CudaTensor.Empty(Device, c.Output, m, n);
            using var b = CudaTensor.Empty(Device, c.Output, m, n);
            tanh.RunWith(GemmPath.Generated, c.Kernel, c.X, c.W, c.Epilogue, [a], m, DType.Float16, tile: tile);
            erf.RunWith(GemmPath.Generated, c.Kernel, c.X, c.W, c.Epilogue, [b], m, DType.Float16, tile: tile);
            using var ha = a.ToHost();
            using var hb = b.ToHost();
            var got = ha.ToFloatArray();
            var want = hb.ToFloatArray();
            int differing = 0;
            for (int i = 0; i < got.Length; i++)
            {
                float d = Math.Abs(got[i] - want[i]);
                float bound = c.Int8 ? 1f : 2e-3f + 1e-3f * Math.Abs(want[i]);
                Assert.True(d <= bound, $"{c.Kernel.Name} tile {tile}: element {i} (row {i / n}) is {got[i]} in the tanh form, {want[i]} by erf (bound {bound})");
                if (d > 0) differing++;
            }
            if (c.Int8) Assert.True(differing <= got.Length / 10, $"{c.Kernel.Name} tile {tile}: {differing} of {got.Length} codes differ");
            else Assert.True(differing > 0, $"{c.Kernel.Name} tile {tile}: the tanh form gave erf's bits everywhere (was FUSION_GELU_TANH passed?)");
        }
    }

    private FusedGemm NewGemm(bool tanh) =>
        new(Device, new KernelJit(Device, new KernelCache(kernels.Path)), GemmPolicy.Generated, choiceDirectory: CacheDirectory) { GeluTanh = tanh };
}
