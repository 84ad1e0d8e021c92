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
        var rng = new Random(Rng.Next());
        bool int8 = kind == "requantize";
        var requantizing = int8 ? CustomGemms.RequantizingGelu(n, k) : null;
        if (requantizing is not null) Assert.Equal(["scale", "bias", "multiplier"], requantizing.EpilogueInputs);
        var kernel = kind switch
        {
            "requantize" => requantizing!.Kernel,
            "bias" => GemmKernels.Linear(n, k, bias: true, Activation.None, residual: false),
            _ => GemmKernels.Linear(n, k, bias: true, Activation.Gelu, residual: true),
        };
        Assert.Contains("#define FUSION_EPILOGUE_QUADS 1", kernel.CudaSource);
        var owned = new List<IDisposable>();
        T Own<T>(T t) where T : IDisposable { owned.Add(t); return t; }
        CudaTensor Upload(CpuTensor host) { owned.Add(host); return Own(CudaTensor.FromHost(Device, host)); }
        CudaTensor Floats(float[] values, params int[] shape)
        {
            var host = CpuTensor.Zeros(DType.Float32, shape);
            values.CopyTo(host.Span<float>());
            return Upload(host);
        }
        try
        {
            CudaTensor x, w;
            CudaTensor[] epilogue;
            if (int8)
            {
                var xHost = CpuTensor.Zeros(DType.Int8, m, k);
                var wHost = CpuTensor.Zeros(DType.Int8, n, k);
                foreach (var t in new[] { xHost, wHost })
                    for (int i = 0; i < t.Span<sbyte>().Length; i++) t.Span<sbyte>()[i] = (sbyte)rng.Next(-127, 128);
                (x, w) = (Upload(xHost), Upload(wHost));
                // Dequantized sums of about N(0, 2²), a bias of order one, codes spread over ±127 (a step of 6 / 127).
                float scale = (float)(2 / (5419 * Math.Sqrt(k)));
                epilogue =
                [
                    Floats(Enumerable.Range(0, n).Select(_ => scale * (float)(0.8 + 0.4 * rng.NextDouble())).ToArray(), n),
                    Floats(Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray(), n),
                    Floats([127f / 6], 1),
                ];
            }
            else
            {
                x = Upload(KernelChecks.Random(rng.Next(), DType.Float16, m, k));
                w = Upload(KernelChecks.Random(rng.Next(), DType.Float16, n, k));
                var bias = Upload(KernelChecks.Random(rng.Next(), DType.Float16, n));
                epilogue = kind == "bias" ? [bias] : [bias, Upload(KernelChecks.Random(rng.Next(), DType.Float16, m, n))];
            }
            var dtype = int8 ? DType.Int8 : DType.Float16;
            using var quads = NewGemm(quads: true);
            using var pairs = NewGemm(quads: false);
            foreach (var tile in GemmTile.CandidatesFor(kernel, Device.ComputeCapability, splitK: true))
            {
                using var a = CudaTensor.Empty(Device, dtype, m, n);
                using var b = CudaTensor.Empty(Device, dtype, m, n);
                a.FillBytes(0xFF);
                b.FillBytes(0xFF);
                quads.RunWith(GemmPath.Generated, kernel, x, w, epilogue, [a], m, DType.Float16, tile: tile);
                pairs.RunWith(GemmPath.Generated, kernel, x, w, epilogue, [b], m, DType.Float16, tile: tile);
                using var ha = a.ToHost();
                using var hb = b.ToHost();
                var bytesA = ha.Bytes.ToArray();
                var bytesB = hb.Bytes.ToArray();
                int first = Enumerable.Range(0, bytesA.Length).FirstOrDefault(i => bytesA[i] != bytesB[i], -1);
                Assert.True(first < 0, first < 0 ? "" :
                    $"{kernel.Name} tile {tile} m={m}: byte {first} (row {first / (n * (int8 ? 1 : 2))}) is {bytesA[first]:X2} with quads, {bytesB[first]:X2} with pairs");
                int distinct = int8 ? bytesA.Distinct().Count() : ha.ToFloatArray().Distinct().Count();
                Assert.True(distinct > (int8 ? 50 : 1000), $"{kernel.Name} tile {tile}: only {distinct} distinct values in the output");
                Assert.DoesNotContain(ha.ToFloatArray(), float.IsNaN); // 0xFF bytes left: NaN in fp16, −1 in int8 (checked by the pairs' equality)
            }
        }
        finally
        {
            for (int i = owned.Count - 1; i >= 0; i--) owned[i].Dispose();
        }
    }

    private FusedGemm NewGemm(bool quads) =>
        new(Device, new KernelJit(Device, new KernelCache(kernels.Path)), GemmPolicy.Generated, choiceDirectory: CacheDirectory) { Quads = quads };
}
