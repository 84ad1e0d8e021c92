using Fusion.Cuda;
using Fusion.Cuda.Gemm;

namespace Fusion.Bench;

/// <summary>
/// `Fusion.Bench gemm`: the GEMM template with its generated epilogue against cuBLASLt on the Swin-T stage-1 linear layers at batch 64
/// (m = 64·3136 rows). Per layer: median device time (CUDA events, 10 warm-ups, median of 50, three rotating input sets
/// so L2 never holds the last call's operands), achieved GB/s over x + w + out (+ residual), TFLOP/s over 2·m·N·K, and
/// the fraction of the memory floor, i.e. those bytes at the 1 GiB device-to-device copy bandwidth measured in the same run.
/// </summary>
internal static class GemmBench
{
    private const int Rows = 64 * 3136;

    private static readonly (string Name, int N, int K, Activation Act, bool Residual)[] s_layers =
    [
        ("qkv", 288, 96, Activation.None, false),
        ("proj", 96, 96, Activation.None, false),
        ("fc1+gelu", 384, 96, Activation.Gelu, false),
        ("fc2+residual", 96, 384, Activation.None, true),
    ];

    public static void Run()
    {
        using var device = CudaDevice.Open(0);
        var stream = device.DefaultStream;
        Console.WriteLine($"device: {device}; NVRTC {Nvrtc.Version}; cuBLASLt {CublasLt.Version}; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        var rng = new Random(4321);
        CudaTensor RandomHalves(params int[] dims) => BenchData.RandomHalves(device, rng, dims);

        double copyGBs;
        using (var source = CudaTensor.Empty(device, DType.Float16, 1 << 29))
        using (var target = CudaTensor.Empty(device, DType.Float16, 1 << 29))
        {
            source.FillBytes(0x3C);
            double ms = EventTimer.MedianMilliseconds(device, stream, () => target.CopyFrom(source), warmup: 3, repeats: 20);
            copyGBs = 2.0 * source.SizeInBytes / (ms * 1e6);
            Console.WriteLine($"cuMemcpyDtoDAsync of 1 GiB: median {ms * 1000:F1} us, {copyGBs:F0} GB/s (the memory floor below)");
        }

        var cacheDir = Directory.CreateTempSubdirectory("fusion-bench-gemm-").FullName;
        using var gemm = new FusedGemm(device, new KernelJit(device, new KernelCache(cacheDir)), GemmPolicy.FastRun, choiceDirectory: cacheDir);
        var rows = new List<string>();
        foreach (var (name, n, k, act, hasResidual) in s_layers)
        {
            var kernel = GemmKernels.Linear(n, k, bias: true, act, hasResidual);
            var sets = Enumerable.Range(0, 3).Select(_ => (X: RandomHalves(Rows, k), R: hasResidual ? RandomHalves(Rows, n) : null)).ToArray();
            using var w = RandomHalves(n, k);
            using var bias = RandomHalves(n);
            using var output = CudaTensor.Empty(device, DType.Float16, Rows, n);
            using var check = CudaTensor.Empty(device, DType.Float16, Rows, n);

            // Both paths on the same operands first: they must agree (cuBLASLt's GELU is the tanh form).
            CudaTensor[] Epilogue((CudaTensor X, CudaTensor? R) s) => s.R is null ? [bias] : [bias, s.R];
            gemm.RunWith(GemmPath.Generated, kernel, sets[0].X, w, Epilogue(sets[0]), [output], Rows, DType.Float16);
            gemm.RunWith(GemmPath.CublasLt, kernel, sets[0].X, w, Epilogue(sets[0]), [check], Rows, DType.Float16);
            double maxDiff = MaxAbsDifference(output, check);

            long bytes = 2L * ((long)Rows * k + (long)n * k + (long)Rows * n + (hasResidual ? (long)Rows * n : 0));
            double flops = 2.0 * Rows * n * k;
            double floorUs = bytes / (copyGBs * 1e3);
            var times = new Dictionary<GemmPath, double[]>();
            foreach (var path in new[] { GemmPath.Generated, GemmPath.CublasLt })
            {
                times[path] = new double[2];
                for (int round = 0; round < 2; round++)
                {
                    int turn = 0;
                    times[path][round] = 1000 * EventTimer.MedianMilliseconds(device, stream, () =>
                    {
                        var s = sets[turn++ % sets.Length];
                        gemm.RunWith(path, kernel, s.X, w, Epilogue(s), [output], Rows, DType.Float16);
                    }, warmup: 10, repeats: 50);
                }
            }
            gemm.Run(kernel, sets[0].X, w, Epilogue(sets[0]), [output], Rows, DType.Float16);
            Console.WriteLine($"{name}: N={n} K={k} m={Rows}: generated vs cuBLASLt max |diff| {maxDiff:G3}; fast-run picks {gemm.LastPath}; floor {floorUs:F1} us ({bytes / 1e6:F1} MB)");
            foreach (var path in new[] { GemmPath.Generated, GemmPath.CublasLt })
            {
                double us = times[path].Average();
                rows.Add($"| {name} | {n}×{k} | {(path == GemmPath.Generated ? "generated" : "cuBLASLt")} | {times[path][0]:F1} / {times[path][1]:F1} | "
                    + $"{bytes / (us * 1e3):F0} | {flops / (us * 1e6):F1} | {100 * floorUs / us:F1} % |");
            }
            foreach (var s in sets)
            {
                s.X.Dispose();
                s.R?.Dispose();
            }
        }
        Console.WriteLine();
        Console.WriteLine($"m = {Rows} (batch 64 × 3136 tokens), fp16, bias on every layer; GB/s, TFLOP/s and % of floor use the mean of the two round medians");
        Console.WriteLine("| layer | N×K | path | median µs (round 1 / 2) | GB/s | TFLOP/s | % of memory floor |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- |");
        foreach (var row in rows) Console.WriteLine(row);
        Directory.Delete(cacheDir, true);
    }

    private static double MaxAbsDifference(CudaTensor a, CudaTensor b)
    {
        using var ha = a.ToHost();
        using var hb = b.ToHost();
        var sa = ha.Span<Half>();
        var sb = hb.Span<Half>();
        double max = 0;
        for (int i = 0; i < sa.Length; i++) max = Math.Max(max, Math.Abs((double)sa[i] - (double)sb[i]));
        return max;
    }
}
