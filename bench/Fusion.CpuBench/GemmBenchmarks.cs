using BenchmarkDotNet.Attributes;
using Fusion.Kernels.Cpu;

namespace Fusion.CpuBench;

/// <summary>
/// C = A·Bᵀ on every core: B packed once (a layer's weight) and packed as it goes (an activation), square sizes and the
/// shapes of Swin-T's batch-1 stage-3 MLP (196 rows).
/// </summary>
public class GemmBenchmarks
{
    private float[] _a = [], _b = [], _c = [];
    private PackedMatrix _packed = null!;

    [Params("512x512x512", "196x1536x384", "196x384x1536")]
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
        _packed = Gemm.Pack(_b, N, K, transposeB: true);
    }

    [Benchmark(Baseline = true)]
    public void PackedOnce() => Gemm.Multiply(_a, _packed, _c, M);

    [Benchmark]
    public void PackedAsItGoes() => Gemm.Multiply(_a, _b, _c, M, N, K, transposeB: true);
}
