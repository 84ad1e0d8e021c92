using Fusion.Cuda;

namespace Fusion.Bench;

/// <summary>
/// `Fusion.Bench attention [batch heads]`: the flash-attention kernel (pattern attention) on q, k, v [B, H, T, 64] fp16 at
/// T = 197, 577, 1024 and 4096 (ViT-B/16's 197 and 577 tokens at 224 and 384 pixels, then long sequences), causal off and on:
/// median of 100 CUDA-event-timed launches after 10 warm-ups, and TFLOP/s counting q·kᵀ and p·v (4·B·H·T²·d; half that when
/// causal). bench/torch/sdpa.py times PyTorch's scaled_dot_product_attention on the same shapes for docs/perf.md.
/// Then Swin-T's window attention at batch 64 (49 tokens, head dim 32; stages 1–3, unshifted: bias [heads, 49, 49], no mask) through
/// both kernels that can run it, the window-attention template (one block a window and head) and this flash-attention template
/// (packed qkv in, heads merged out, the bias broadcast over windows), for docs/kernels.md's choice between them.
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
        WindowVsGeneral(backend, rng);
    }

    /// <summary>Swin-T's unshifted window attention at batch 64, stages 1–3 (64, 16, 4 windows an image; 3, 6, 12 heads of 32).</summary>
    private static void WindowVsGeneral(CudaBackend backend, Random rng)
    {
        const int images = 64, tokens = 49, d = 32;
        var device = backend.CudaDevice;
        float scale = 1 / MathF.Sqrt(d);
        foreach (var (windows, heads) in new[] { (64, 3), (16, 6), (4, 12) })
        {
            int total = images * windows;
            using CudaTensor qkv = BenchData.RandomHalves(device, rng, total, tokens, 3 * heads * d), bias = BenchData.RandomHalves(device, rng, -2, 2, heads, tokens, tokens);
            var window = BenchData.Kernel("window_attention", ("HEADS", heads), ("HEAD_DIM", d), ("TOKENS", tokens), ("WINDOWS", windows), ("HAS_MASK", 0));
            double windowMs = EventTimer.MedianMilliseconds(device, backend.Stream, () => backend.WindowAttention(qkv, bias, null, heads, scale, window).Dispose());
            var layout = new AttentionLayout(Packed: true, Merged: true, heads, d);
            var general = AttentionKernels.For(d, causal: false, bias: true);
            double generalMs = EventTimer.MedianMilliseconds(device, backend.Stream, () => backend.Attention(qkv, qkv, qkv, bias, layout, scale, false, general).Dispose());
            Console.WriteLine($"swin window attention, {total} windows x {heads} heads x {tokens} tokens x {d}: window_attention {windowMs * 1000,7:F1} us, "
                + $"attention {generalMs * 1000,7:F1} us");
        }
    }
}
