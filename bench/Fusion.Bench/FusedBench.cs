using Fusion.Compiler;
using Fusion.Cuda;
using Fusion.Cuda.Fused;
using Fusion.Cuda.Generated;
using Fusion.Kernels;
using CDim = Fusion.Compiler.Dim;

namespace Fusion.Bench;

/// <summary>
/// The fused kernels at Swin-T stage-1 size, batch 64 (x [64, 56, 56, 96], window 7, shift 3, 3 heads of 32), each against the bytes
/// it must move (inputs read once, outputs written once) and a device-to-device copy timed in the same run: the kernels the generator
/// makes from the loop IR for Swin's pointwise/layout/norm chains (bias + residual; LN + roll + partition; reverse + roll + residual,
/// alone and with norm2 as a second output, which is what the Swin plan runs) and the window-attention template. Device time behind
/// a StreamHold (the GPU's time alone). The PyTorch side (eager and torch.compile on the same chains) is bench/torch/swin_ops.py;
/// docs/perf.md also keeps the figures of the hand-written templates these generated kernels replaced.
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

        var wa = BenchData.Kernel("window_attention", ("HEADS", Heads), ("HEAD_DIM", HeadDim), ("TOKENS", tokens), ("WINDOWS", windows), ("HAS_MASK", 1));
        var attention = new WindowAttentionLauncher(modules);
        float scale = 1 / MathF.Sqrt(HeadDim);

        var jit = new KernelJit(device, new KernelCache(cacheDir));
        using var hold = new StreamHold(jit);
        using var launcher = new GeneratedKernelLauncher(jit);
        var chains = Chains.Build();
        using CudaTensor secondOut = CudaTensor.Empty(device, DType.Float16, Batch, H, W, C);
        void Generated(GeneratedKernel kernel, params CudaTensor[] buffers) => launcher.Launch(kernel, Batch, DType.Float16, buffers, stream);

        int turn = 0;
        double Time(Action<int> work)
        {
            turn = 0;
            return hold.MedianMilliseconds(device, stream, () => work(turn++ % 3), warmup: 10, repeats: 100);
        }
        long tensor = images[0].X.SizeInBytes;
        var rows = new List<(string Name, double Ms, long Bytes)>
        {
            ("add_add (generated)", Time(s => Generated(chains.BiasResidual, images[s].X, channelBias, images[s].R, imageOut)), 3 * tensor),
            ("layer_norm_roll_window_partition (generated)", Time(s => Generated(chains.LayerNormPartition, images[s].X, gamma, beta, windowOut)), 2 * tensor),
            ("window_reverse_roll_add (generated)", Time(s => Generated(chains.ReverseResidual, images[s].R, windowSets[s], imageOut)), 3 * tensor),
            ("window_reverse_roll_add_layer_norm (generated, 2 outputs)",
                Time(s => Generated(chains.ReverseResidualNorm, images[s].R, windowSets[s], gamma, beta, imageOut, secondOut)), 4 * tensor),
            ("window_attention (mask, template)", Time(s => attention.Run(qkvSets[s], attnBias, mask, Heads, scale, windowOut, wa)), qkvSets[0].SizeInBytes + tensor),
        };
        foreach (var (name, kernel) in chains.All) Console.WriteLine($"{name}: {kernel.Ir.Name}, {kernel.Launch}");
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

    /// <summary>
    /// The generator's kernels for the templates' chains, built the way the scheduler groups them (one group, the chain's end stored).
    /// Buffer order is the lowering's: the order the chain first reads them.
    /// </summary>
    private sealed record Chains(GeneratedKernel BiasResidual, GeneratedKernel LayerNormPartition, GeneratedKernel ReverseResidual, GeneratedKernel ReverseResidualNorm)
    {
        public IEnumerable<(string, GeneratedKernel)> All =>
            [("bias+residual", BiasResidual), ("ln+shift+partition", LayerNormPartition), ("reverse+shift+residual", ReverseResidual), ("reverse+shift+residual+norm", ReverseResidualNorm)];

        public static Chains Build()
        {
            var f16 = FloatType.F16;
            var image = new[] { CDim.Batch(), CDim.Static(H), CDim.Static(W), CDim.Static(C) };
            var windows = new[] { CDim.Batch(H / Window * (W / Window)), CDim.Static(Window * Window), CDim.Static(C) };
            var roll = (long s) => AttributeSet.Of(OpAttribute.Int("shift", s), OpAttribute.IntList("axes", [1, 2]));

            var b1 = new KernelBuilder();
            int x = b1.Input(f16, image), bias = b1.Input(f16, CDim.Static(C)), r = b1.Input(f16, image);
            var biasResidual = b1.Build("add_add_f16_nx56x56x96", b1.Op(Ops.Add, b1.Op(Ops.Add, x, bias), r)).Kernel;

            var b2 = new KernelBuilder();
            int x2 = b2.Input(f16, image), g2 = b2.Input(f16, CDim.Static(C)), be2 = b2.Input(f16, CDim.Static(C));
            int norm = b2.Op(Ops.LayerNorm, AttributeSet.Of(OpAttribute.Real("eps", 1e-5)), null, x2, g2, be2);
            int part = b2.Op(Ops.WindowPartition, AttributeSet.Of(OpAttribute.Int("window", Window)), null, b2.Op(Ops.Roll, roll(-Shift), null, norm));
            var layerNormPartition = b2.Build("layer_norm_roll_window_partition_f16_64nx49x96", part).Kernel;

            GeneratedKernel Reverse(bool withNorm, string name)
            {
                var b = new KernelBuilder();
                int res = b.Input(f16, image), win = b.Input(f16, windows);
                var reverse = AttributeSet.Of(OpAttribute.Int("window", Window), OpAttribute.Int("height", H), OpAttribute.Int("width", W));
                int sum = b.Op(Ops.Add, res, b.Op(Ops.Roll, roll(Shift), null, b.Op(Ops.WindowReverse, reverse, null, win)));
                if (!withNorm) return b.Build(name, sum).Kernel;
                int g = b.Input(f16, CDim.Static(C)), bb = b.Input(f16, CDim.Static(C));
                return b.Build(name, b.Op(Ops.LayerNorm, AttributeSet.Of(OpAttribute.Real("eps", 1e-5)), null, sum, g, bb), sum).Kernel;
            }
            return new Chains(biasResidual, layerNormPartition, Reverse(false, "window_reverse_roll_add_f16_nx56x56x96"),
                Reverse(true, "window_reverse_roll_add_layer_norm_f16_nx56x56x96"));
        }
    }
}
