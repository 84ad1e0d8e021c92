using BenchmarkDotNet.Attributes;
using Fusion.Kernels.Cpu;
using Fusion.Kernels.Cpu.Fused;

namespace Fusion.CpuBench;

/// <summary>
/// The CPU kernels of a Swin-T pass other than the GEMM, at Swin-T's stage-1 batch-1 sizes: erf over a GELU's input
/// (3136 × 384), masked window attention (64 windows, 3 heads, 49 tokens, head dim 32), softmax of attention rows and
/// layer norm of 3136 rows of 96.
/// </summary>
public class KernelBenchmarks
{
    private const int Tokens = 49, Heads = 3, HeadDim = 32, Windows = 64, Rows = 3136, Channels = 96;
    private float[] _gelu = [], _geluOut = [], _qkv = [], _bias = [], _mask = [], _attention = [];
    private float[] _scores = [], _probabilities = [], _x = [], _weight = [], _shift = [], _normed = [];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(2);
        _gelu = Data.Uniform(random, Rows * 4 * Channels, 4f);
        _geluOut = new float[_gelu.Length];
        _qkv = Data.Uniform(random, Windows * Tokens * 3 * Heads * HeadDim);
        _bias = Data.Uniform(random, Heads * Tokens * Tokens);
        _mask = new float[Windows * Tokens * Tokens];
        for (int i = 0; i < _mask.Length; i++) _mask[i] = random.Next(4) == 0 ? -100f : 0f; // a shifted window's mask
        _attention = new float[Windows * Tokens * Heads * HeadDim];
        _scores = Data.Uniform(random, Windows * Heads * Tokens * Tokens, 8f);
        _probabilities = new float[_scores.Length];
        _x = Data.Uniform(random, Rows * Channels);
        _weight = Data.Uniform(random, Channels);
        _shift = Data.Uniform(random, Channels);
        _normed = new float[_x.Length];
    }

    [Benchmark]
    public void Erf() => VectorMath.Erf(_gelu, _geluOut);

    [Benchmark]
    public void MaskedWindowAttention() =>
        WindowAttentionTwin.Run(_qkv, _bias, _mask, _attention, Windows, Windows, Heads, HeadDim, Tokens, 0.17677669f);

    [Benchmark]
    public void Softmax() => Kernels.Cpu.Softmax.Rows(_scores, _probabilities, Windows * Heads * Tokens, Tokens);

    [Benchmark]
    public void LayerNorm() => Kernels.Cpu.LayerNorm.Rows(_x, _weight, _shift, _normed, Rows, Channels, 1e-5f);
}
