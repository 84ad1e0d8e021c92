using Fusion.Cuda;
using Fusion.Cuda.Fused;

namespace Fusion.Bench;

/// <summary>
/// `Fusion.Bench attention [batch heads]`: the flash-attention kernel (pattern attention) on q, k, v [B, H, T, 64] fp16 at
/// T = 197, 577, 1024 and 4096 (ViT-B/16's 197 and 577 tokens at 224 and 384 pixels, then long sequences), causal off and on:
/// the launch into a preallocated output, median of 100 CUDA-event-timed launches after 10 warm-ups, two ways: events around the
/// call (what bench/torch/sdpa.py does for PyTorch: the host's work before the launch is in the time) and behind a StreamHold (the
/// GPU's time alone, as in a captured graph); TFLOP/s of the latter, counting q·kᵀ and p·v (4·B·H·T²·d; half that when causal).
/// Then Swin-T's window attention at batch 64 (49 tokens, head dim 32; stages 1–3, unshifted: bias [heads, 49, 49], no mask) through
/// both kernels that can run it, the window-attention template (one block a window and head) and this flash-attention template
/// (packed qkv in, heads merged out, the bias broadcast over windows), for docs/kernels.md's choice between them.
/// </summary>
internal static class AttentionBench
{
    public static void Run(int batch, int heads)
    {
        const int d = 64;
        var device = CudaDevice.Open(0);
        var stream = device.DefaultStream;
        var jit = new KernelJit(device, new KernelCache(Directory.CreateTempSubdirectory("fusion-bench-attention-").FullName));
        using var modules = new FusedKernelModules(jit);
        using var hold = new StreamHold(jit);
        var attention = new AttentionLauncher(modules);
        var rng = new Random(7);
        Console.WriteLine($"device: {device}; attention, q/k/v [{batch}, {heads}, T, {d}] fp16; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        foreach (bool causal in new[] { false, true })
            foreach (int t in new[] { 197, 577, 1024, 4096 })
            {
                using CudaTensor q = BenchData.RandomHalves(device, rng, batch, heads, t, d), k = BenchData.RandomHalves(device, rng, batch, heads, t, d);
                using CudaTensor v = BenchData.RandomHalves(device, rng, batch, heads, t, d), output = CudaTensor.Empty(device, DType.Float16, batch, heads, t, d);
                var kernel = AttentionKernels.For(d, causal, bias: false);
                float scale = 1 / MathF.Sqrt(d);
                void Launch() => attention.Run(q, k, v, null, default, scale, causal, kernel, output);
                double call = EventTimer.MedianMilliseconds(device, stream, Launch);
                double ms = hold.MedianMilliseconds(device, stream, Launch, warmup: 10, repeats: 100);
                double flop = 4.0 * batch * heads * t * (double)t * d * (causal ? 0.5 : 1);
                Console.WriteLine($"attention T={t,5} causal={(causal ? 1 : 0)}: {call * 1000,9:F1} us around the call, {ms * 1000,9:F1} us on the GPU  {flop / ms / 1e9,6:F1} TFLOP/s");
            }
        WindowVsGeneral(device, modules, attention, rng);
    }

    /// <summary>Swin-T's unshifted window attention at batch 64, stages 1–3 (64, 16, 4 windows an image; 3, 6, 12 heads of 32).</summary>
    private static void WindowVsGeneral(CudaDevice device, FusedKernelModules modules, AttentionLauncher attention, Random rng)
    {
        const int images = 64, tokens = 49, d = 32;
        var windowAttention = new WindowAttentionLauncher(modules);
        float scale = 1 / MathF.Sqrt(d);
        foreach (var (windows, heads) in new[] { (64, 3), (16, 6), (4, 12) })
        {
            int total = images * windows;
            using CudaTensor qkv = BenchData.RandomHalves(device, rng, total, tokens, 3 * heads * d), bias = BenchData.RandomHalves(device, rng, -2f, 2f, heads, tokens, tokens);
            using var output = CudaTensor.Empty(device, DType.Float16, total, tokens, heads * d);
            var window = BenchData.Kernel(WindowAttentionLauncher.Pattern, ("HEADS", heads), ("HEAD_DIM", d), ("TOKENS", tokens), ("WINDOWS", windows), ("HAS_MASK", 0));
            double windowMs = EventTimer.MedianMilliseconds(device, device.DefaultStream, () => windowAttention.Run(qkv, bias, null, heads, scale, output, window));
            var layout = new AttentionLayout(Packed: true, Merged: true, heads, d);
            var general = AttentionKernels.For(d, causal: false, bias: true);
            double generalMs = EventTimer.MedianMilliseconds(device, device.DefaultStream, () => attention.Run(qkv, qkv, qkv, bias, layout, scale, false, general, output));
            Console.WriteLine($"swin window attention, {total} windows x {heads} heads x {tokens} tokens x {d}: window_attention {windowMs * 1000,7:F1} us, "
                + $"attention {generalMs * 1000,7:F1} us");
        }
    }
}
