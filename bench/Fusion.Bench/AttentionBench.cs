using Fusion.Cuda;

namespace Fusion.Bench;

/// <summary>
/// `Fusion.Bench attention [batch heads]`: the flash-attention kernel (pattern attention) on q, k, v [B, H, T, 64] fp16 at
/// T = 197, 577, 1024 and 4096 (ViT-B/16's 197 and 577 tokens at 224 and 384 pixels, then long sequences), causal off and on:
/// median of 100 CUDA-event-timed launches after 10 warm-ups, and TFLOP/s counting q·kᵀ and p·v (4·B·H·T²·d; half that when
/// causal). bench/torch/sdpa.py times PyTorch's scaled_dot_product_attention on the same shapes for docs/perf.md.
/// </summary>
internal static class AttentionBench
{
    public static void Run(int batch, int heads)
    {
        const int d = 64;
        using var backend = new CudaBackend(CudaDevice.Open(0));
        var device = backend.CudaDevice;
        var rng = new Random(7);
        Console.WriteLine($"device: {device}; attention, q/k/v [{batch}, {heads}, T, {d}] fp16; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        foreach (bool causal in new[] { false, true })
            foreach (int t in new[] { 197, 577, 1024, 4096 })
            {
                using CudaTensor q = BenchData.RandomHalves(device, rng, batch, heads, t, d), k = BenchData.RandomHalves(device, rng, batch, heads, t, d);
                using CudaTensor v = BenchData.RandomHalves(device, rng, batch, heads, t, d);
                var kernel = AttentionKernels.For(d, causal, bias: false);
                float scale = 1 / MathF.Sqrt(d);
                double ms = EventTimer.MedianMilliseconds(device, backend.Stream, () => backend.Attention(q, k, v, null, default, scale, causal, kernel).Dispose());
                double flop = 4.0 * batch * heads * t * (double)t * d * (causal ? 0.5 : 1);
                Console.WriteLine($"attention T={t,5} causal={(causal ? 1 : 0)}: {ms * 1000,9:F1} us  {flop / ms / 1e9,6:F1} TFLOP/s");
            }
    }
}
