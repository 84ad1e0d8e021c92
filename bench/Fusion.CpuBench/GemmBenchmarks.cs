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

    /// <summary>
    /// The same result as passes over C after the product (bias, erf, residual), each split over the cores as the loop interpreter's
    /// epilogue kernel splits its rows (the GELU's multiplies are left out, in the passes' favour).
    /// </summary>
    [Benchmark]
    public unsafe void EpilogueAsPasses()
    {
        Gemm.Multiply(_a, _packed, _c, M);
        int n = N;
        fixed (float* pc = _c, pb = _bias, pr = _residual)
        {
            nint c = (nint)pc, b = (nint)pb, r = (nint)pr;
            Parallelism.For(M, 8L * n, (start, end) =>
            {
                for (int row = start; row < end; row++)
                {
                    var values = new Span<float>((float*)c + (long)row * n, n);
                    TensorPrimitives.Add(values, new ReadOnlySpan<float>((float*)b, n), values);
                }
            });
            Parallelism.For(M, 32L * n, (start, end) =>
            {
                var rows = new Span<float>((float*)c + (long)start * n, (end - start) * n);
                TensorPrimitives.Multiply(rows, 0.70710678f, rows);
                VectorMath.Erf(rows, rows);
            });
            Parallelism.For(M, 4L * n, (start, end) =>
            {
                var rows = new Span<float>((float*)c + (long)start * n, (end - start) * n);
                TensorPrimitives.Add(rows, new ReadOnlySpan<float>((float*)r + (long)start * n, (end - start) * n), rows);
            });
        }
    }
}
