using Fusion.Cuda;
using Fusion.Cuda.Fused;
using Fusion.Kernels;

namespace Fusion.Bench;

/// <summary>
/// The fused kernels at Swin-T stage-1 size, batch 64 (x [64, 56, 56, 96], window 7, shift 3, 3 heads of 32),
/// each against the bytes it must move (inputs read once, output written once) and a device-to-device copy
/// timed in the same run. The unfused PyTorch sequences they replace are timed by bench/torch/swin_ops.py.
/// </summary>
internal static class FusedBench
{
    private const int Batch = 64, H = 56, W = 56, C = 96, Window = 7, Shift = 3, Heads = 3, HeadDim = 32;

    public static void Run(CudaDevice device)
    {
        var stream = device.DefaultStream;
        var rng = new Random(4321);
        int windows = H / Window * (W / Window), tokens = Window * Window, total = Batch * windows;
        CudaTensor Random(float lo, float hi, params int[] dims) => BenchData.RandomHalves(device, rng, lo, hi, dims);
        CudaTensor Mask()
        {
            using var host = CpuTensor.Zeros(DType.Float16, windows, tokens, tokens);
            var span = host.Span<Half>();
            for (int i = 0; i < span.Length; i++) span[i] = rng.Next(4) == 0 ? (Half)(-100f) : (Half)0f;
            return CudaTensor.FromHost(device, host);
        }

        var cacheDir = Directory.CreateTempSubdirectory("fusion-bench-fused-").FullName;
        using var modules = new FusedKernelModules(new KernelJit(device, new KernelCache(cacheDir)));
        var images = Enumerable.Range(0, 3).Select(_ => (X: Random(-1, 1, Batch, H, W, C), R: Random(-1, 1, Batch, H, W, C))).ToArray();
        var windowSets = Enumerable.Range(0, 3).Select(_ => Random(-1, 1, total, tokens, C)).ToArray();
        var qkvSets = Enumerable.Range(0, 3).Select(_ => Random(-1, 1, total, tokens, 3 * Heads * HeadDim)).ToArray();
        using CudaTensor channelBias = Random(-1, 1, C), gamma = Random(0.5f, 1.5f, C), beta = Random(-0.5f, 0.5f, C);
        using CudaTensor attnBias = Random(-2, 2, Heads, tokens, tokens), mask = Mask();
        using CudaTensor imageOut = CudaTensor.Empty(device, DType.Float16, Batch, H, W, C), windowOut = CudaTensor.Empty(device, DType.Float16, total, tokens, C);

        var br = Kernel("bias_residual", ("C", C));
        var ln = Kernel("ln_shift_partition", ("C", C), ("H", H), ("W", W), ("WINDOW", Window), ("SHIFT", Shift));
        var wr = Kernel("window_reverse_residual", ("C", C), ("H", H), ("W", W), ("WINDOW", Window), ("SHIFT", Shift));
        var wa = Kernel("window_attention", ("HEADS", Heads), ("HEAD_DIM", HeadDim), ("TOKENS", tokens), ("WINDOWS", windows), ("HAS_MASK", 1));
        var biasResidual = new BiasResidualLauncher(modules);
        var layerNorm = new LayerNormPartitionLauncher(modules);
        var reverse = new WindowReverseResidualLauncher(modules);
        var attention = new WindowAttentionLauncher(modules);
        float scale = 1 / MathF.Sqrt(HeadDim);

        int turn = 0;
        double Time(Action<int> work)
        {
            turn = 0;
            return EventTimer.MedianMilliseconds(device, stream, () => work(turn++ % 3));
        }
        long tensor = images[0].X.SizeInBytes;
        var rows = new List<(string Name, double Ms, long Bytes)>
        {
            ("bias_residual", Time(s => biasResidual.Run(images[s].X, channelBias, images[s].R, imageOut, br)), 3 * tensor),
            ("ln_shift_partition", Time(s => layerNorm.Run(images[s].X, gamma, beta, 1e-5f, Window, Shift, windowOut, ln)), 2 * tensor),
            ("window_reverse_residual", Time(s => reverse.Run(windowSets[s], images[s].R, Window, Shift, imageOut, wr)), 3 * tensor),
            ("window_attention (mask)", Time(s => attention.Run(qkvSets[s], attnBias, mask, Heads, scale, windowOut, wa)), qkvSets[0].SizeInBytes + tensor),
        };
        double copyMs = Time(s => imageOut.CopyFrom(images[s].X));
        using var bigSource = CudaTensor.Empty(device, DType.Float16, 1 << 29);
        using var bigTarget = CudaTensor.Empty(device, DType.Float16, 1 << 29);
        bigSource.FillBytes(0x3C);
        double bigCopyMs = EventTimer.MedianMilliseconds(device, stream, () => bigTarget.CopyFrom(bigSource), warmup: 3, repeats: 20);
        stream.Synchronize();

        double copyGBs = 2.0 * tensor / (copyMs * 1e6), bigCopyGBs = 2.0 * bigSource.SizeInBytes / (bigCopyMs * 1e6);
        Console.WriteLine($"fused kernels, Swin-T stage 1, batch {Batch}: median of 100 (10 warm-up), three rotating input sets");
        Console.WriteLine($"copy of one {tensor >> 20} MiB tensor: {copyMs * 1000:F1} us, {copyGBs:F0} GB/s; copy of 1 GiB: {bigCopyMs * 1000:F1} us, {bigCopyGBs:F0} GB/s");
        Console.WriteLine("| kernel | median | MB moved | GB/s | floor at 1 GiB-copy rate | % of same-size copy | % of 1 GiB copy |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- |");
        foreach (var (name, ms, bytes) in rows)
        {
            double gbs = bytes / (ms * 1e6);
            Console.WriteLine($"| {name} | {ms * 1000:F1} us | {bytes / 1e6:F1} | {gbs:F0} | {bytes / (bigCopyGBs * 1e3):F1} us | {100 * gbs / copyGBs:F1} % | {100 * gbs / bigCopyGBs:F1} % |");
        }

        foreach (var (x, r) in images)
        {
            x.Dispose();
            r.Dispose();
        }
        foreach (var t in windowSets.Concat(qkvSets)) t.Dispose();
        Directory.Delete(cacheDir, true);
    }

    private static FusedKernel Kernel(string pattern, params (string Key, int Value)[] constants)
    {
        var dict = constants.ToDictionary(c => c.Key, c => c.Value);
        var name = pattern + string.Concat(constants.Select(c => $"_{c.Key.ToLowerInvariant()}{c.Value}"));
        return new FusedKernel(name, pattern, KernelTemplates.Specialize(pattern, name, dict), dict);
    }
}
