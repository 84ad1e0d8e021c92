using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using Fusion.Kernels.Cpu;

namespace Fusion.CpuBench;

/// <summary>
/// C = A·Bᵀ on every core: B packed once (a layer's weight) and packed as it goes (an activation), square sizes and the
/// shapes of Swin-T's batch-1 MLPs (stage 1: 3136 rows, stage 3: 196 rows); and a Linear's epilogue (bias, GELU, residual)
/// applied to the tiles as they are stored against the same work as passes over C after the product.
/// </summary>
public class GemmBenchmarks
{
    private float[] _a = [], _b = [], _c = [], _bias = [], _residual = [];
    private PackedMatrix _packed = null!;

    [Params("512x512x512", "3136x384x96", "196x1536x384", "196x384x1536")]
    public string Shape { get; set; } = "512x512x512";

    private int M => int.Parse(Shape.Split('x')[0]);

    private int N => int.Parse(Shape.Split('x')[1]);

    private int K => int.Parse(Shape.Split('x')[2]);

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        _a = Data.Uniform(random, M * K);
        _b = Data.Uniform(random, N * K);
        _c = new float[M * N];
        _bias = Data.Uniform(random, N);
        _residual = Data.Uniform(random, M * N);
        _packed = Gemm.Pack(_b, N, K, transposeB: true);
    }

    [Benchmark(Baseline = true)]
    public void PackedOnce() => Gemm.Multiply(_a, _packed, _c, M);

    [Benchmark]
    public void PackedAsItGoes() => Gemm.Multiply(_a, _b, _c, M, N, K, transposeB: true);

    [Benchmark]
    public void EpilogueOnTheTiles() => Gemm.Multiply(_a, _packed, _c, M, new GemmEpilogue(_bias, TileActivation.Gelu, _residual));

    /// <summary>The same result in four passes: the product, then bias, GELU and residual each over all of C.</summary>
    [Benchmark]
    public void EpilogueAsPasses()
    {
        Gemm.Multiply(_a, _packed, _c, M);
        var c = _c.AsSpan();
        for (int row = 0; row < M; row++) TensorPrimitives.Add(c.Slice(row * N, N), _bias, c.Slice(row * N, N));
        TensorPrimitives.Multiply(c, 0.70710678f, c);
        VectorMath.Erf(c, c); // the GELU's erf pass; its multiplies are left out, in the passes' favour
        TensorPrimitives.Add(c, _residual, c);
    }
}
