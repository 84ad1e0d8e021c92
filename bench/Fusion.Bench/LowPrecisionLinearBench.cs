using System.Globalization;
using Fusion.Cuda;
using Fusion.Cuda.Gemm;
using Fusion.Quantization;

namespace Fusion.Bench;

/// <summary>
/// `Fusion.Bench lowp [batch]`: every Swin-T Linear shape at one batch as the fp16 cuBLASLt Linear with bias (what the fp16 plan
/// runs), the int8 layer (<see cref="CudaInt8Linear"/>: quantize, exact int8 product, dequantize + bias: three kernels) with its
/// product alone, and the FP8 layer (<see cref="CudaFp8Linear"/>: quantize, FP8 product with scales and bias in its epilogue) with
/// its product alone. Median of CUDA events around each (5 warm-ups, 30 timed), in µs; the sum over one image's layers (each shape
/// as often as Swin-T runs it) is the estimate of a whole plan's Linear time. A second table times Fusion's own GEMM template on the
/// same shapes, fp16 (<see cref="GemmKernels.Linear"/>: x·wᵀ + bias, GELU on fc1) against its int8 variant
/// (<see cref="GemmKernels.LinearInt8"/>: int8 x and w, exact int32 sums, float(sum)·scale[j] + bias, GELU on fc1), both storing
/// fp16: the default tile and the fastest of <see cref="GemmTile.CandidatesFor"/> (what fast-run picks; the Hopper families on compute capability 9.0), same timing.
/// </summary>
internal static class LowPrecisionLinearBench
{
    public static void Run(int batch)
    {
        using var device = CudaDevice.Open(0);
        var stream = device.DefaultStream;
        Console.WriteLine($"device: {device}; cuBLASLt {CublasLt.Version}; batch {batch}; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        var cacheDir = Directory.CreateTempSubdirectory("fusion-bench-lowp-").FullName;
        var jit = new KernelJit(device, new KernelCache(cacheDir));
        using var lt = new CublasLt(device);
        using var int8 = new Int8LinearKernels(jit);
        using var fp8 = new Fp8LinearKernels(jit);
        var rng = new Random(99);
        int[] depths = [2, 2, 6, 2], dims = [96, 192, 384, 768], tokens = [3136, 784, 196, 49];
        var layers = new List<(string Name, int Tokens, int N, int K, int Count)>();
        for (int s = 0; s < 4; s++)
        {
            int c = dims[s];
            layers.Add(($"s{s + 1} qkv", tokens[s], 3 * c, c, depths[s]));
            layers.Add(($"s{s + 1} proj", tokens[s], c, c, depths[s]));
            layers.Add(($"s{s + 1} fc1", tokens[s], 4 * c, c, depths[s]));
            layers.Add(($"s{s + 1} fc2", tokens[s], c, 4 * c, depths[s]));
            if (s < 3) layers.Add(($"s{s + 1} merge", tokens[s + 1], 2 * c, 4 * c, 1));
        }
        Console.WriteLine("| layer | M | N | K | fp16 | int8 layer | int8 product | FP8 layer | FP8 product |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        var sums = new double[5];
        var failures = new HashSet<string>();
        foreach (var (name, t, n, k, count) in layers)
        {
            int m = t * batch;
            var w = new float[n * k];
            for (int i = 0; i < w.Length; i++) w[i] = (float)(rng.NextDouble() - 0.5) * 0.2f;
            var bias = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
            using var x = BenchData.RandomHalves(device, rng, m, k);
            using var y = CudaTensor.Empty(device, DType.Float16, m, n);
            using var wHalf = BenchData.RandomHalves(device, rng, n, k);
            using var biasHalf = BenchData.RandomHalves(device, rng, n);
            using var int8Layer = new CudaInt8Linear(device, QuantizedWeight.From(w, n, k), Int8Quantizer.ScaleFor(1), bias);
            using var fp8Layer = new CudaFp8Linear(device, Fp8Weight.From(w, n, k), Float8E4M3.ScaleFor(1), bias);
            using var xq = CudaTensor.Empty(device, DType.Int8, m, k);
            using var wq = CudaTensor.Empty(device, DType.Int8, n, k);
            using var sums32 = CudaTensor.Empty(device, DType.Int32, m, n);
            using var x8 = CudaTensor.Empty(device, DType.Float8E4M3, m, k);
            using var w8 = CudaTensor.Empty(device, DType.Float8E4M3, n, k);
            using var inputScale = CudaTensor.Empty(device, DType.Float32, 1);
            using var weightScale = CudaTensor.Empty(device, DType.Float32, 1);
            xq.FillBytes(1); wq.FillBytes(1); x8.FillBytes(0x30); w8.FillBytes(0x30); inputScale.FillBytes(0); weightScale.FillBytes(0);
            // A product cuBLASLt does not offer for this shape is a row entry ("n/a", the reason printed once), not the end of the table.
            double Time(Action a)
            {
                try
                {
                    return EventTimer.MedianMilliseconds(device, stream, a, warmup: 5, repeats: 30) * 1000;
                }
                catch (CudaException e)
                {
                    if (failures.Add(e.Message)) Console.WriteLine($"n/a: {e.Message}");
                    return double.NaN;
                }
            }
            double[] us =
            [
                Time(() => lt.Linear(x, wHalf, biasHalf, y, MatmulEpilogue.Bias)),
                Time(() => int8Layer.Run(lt, int8, x, y)),
                Time(() => lt.LinearInt8(xq, wq, sums32)),
                Time(() => fp8Layer.Run(lt, fp8, x, y)),
                Time(() => lt.LinearFp8(x8, w8, inputScale, weightScale, biasHalf, y, MatmulEpilogue.Bias)),
            ];
            for (int i = 0; i < us.Length; i++) sums[i] += us[i] * count;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {m} | {n} | {k} | {us[0]:F1} | {us[1]:F1} | {us[2]:F1} | {us[3]:F1} | {us[4]:F1} |"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| **Swin-T's Linears (each × its count)** | | | | {sums[0]:F0} | {sums[1]:F0} ({sums[1] / sums[0]:F2}×) | {sums[2]:F0} ({sums[2] / sums[0]:F2}×) | {sums[3]:F0} ({sums[3] / sums[0]:F2}×) | {sums[4]:F0} ({sums[4] / sums[0]:F2}×) |"));
        Console.WriteLine();
        TemplateTable(device, jit, layers, batch, rng);
    }

    /// <summary>The GEMM template, fp16 against int8, per layer: default tile and fastest candidate tile, µs.</summary>
    private static void TemplateTable(CudaDevice device, KernelJit jit, List<(string Name, int Tokens, int N, int K, int Count)> layers, int batch, Random rng)
    {
        var stream = device.DefaultStream;
        using var gemm = new FusedGemm(device, jit, GemmPolicy.Generated);
        var kernels = layers.Select(l =>
        {
            var activation = l.Name.EndsWith("fc1", StringComparison.Ordinal) ? Activation.Gelu : Activation.None;
            return (Half: GemmKernels.Linear(l.N, l.K, bias: true, activation, residual: false),
                Int8: GemmKernels.LinearInt8(l.N, l.K, bias: true, activation, residual: false));
        }).ToList();
        var started = DateTime.UtcNow;
        gemm.PrecompileTiles(kernels.SelectMany(k => new[] { k.Half, k.Int8 }).SelectMany(k => GemmTile.CandidatesFor(k, device.ComputeCapability).Select(t => (k, t))), DType.Float16);
        Console.WriteLine($"GEMM template, fp16 against int8 (bias, GELU on fc1; fp16 out): {kernels.Count * 2} kernels in every candidate tile compiled in {(DateTime.UtcNow - started).TotalSeconds:F1} s");
        Console.WriteLine("| layer | M | N | K | epilogue | fp16 default tile | int8 default tile | fp16 best (tile) | int8 best (tile) | int8 / fp16 (best) |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        var sums = new double[4];
        for (int i = 0; i < layers.Count; i++)
        {
            var (name, t, n, k, count) = layers[i];
            var (halfKernel, int8Kernel) = kernels[i];
            int m = t * batch;
            using var x = BenchData.RandomHalves(device, rng, m, k);
            using var w = BenchData.RandomHalves(device, rng, n, k);
            using var bias = BenchData.RandomHalves(device, rng, n);
            using var x8 = RandomCodes(device, rng, m, k);
            using var w8 = RandomCodes(device, rng, n, k);
            using var scaleHost = CpuTensor.FromArray(Enumerable.Range(0, n).Select(_ => 1e-4f * (1 + rng.NextSingle())).ToArray(), n);
            using var scale = CudaTensor.FromHost(device, scaleHost);
            using var y = CudaTensor.Empty(device, DType.Float16, m, n);
            (double Default, double Best, GemmTile Tile) Time(GemmKernel kernel, CudaTensor xs, CudaTensor ws, CudaTensor[] inputs)
            {
                var results = GemmTile.CandidatesFor(kernel, device.ComputeCapability).Select(tile => (Tile: tile, Us: 1000 * EventTimer.MedianMilliseconds(device, stream,
                    () => gemm.RunWith(GemmPath.Generated, kernel, xs, ws, inputs, [y], m, DType.Float16, tile: tile), warmup: 5, repeats: 30))).ToList();
                var best = results.MinBy(r => r.Us);
                return (results[0].Us, best.Us, best.Tile); // Candidates lists the default tile first
            }
            var half = Time(halfKernel, x, w, [bias]);
            var int8 = Time(int8Kernel, x8, w8, [scale, bias]);
            sums[0] += half.Default * count;
            sums[1] += int8.Default * count;
            sums[2] += half.Best * count;
            sums[3] += int8.Best * count;
            string epilogue = halfKernel.Name.Contains("_gelu", StringComparison.Ordinal) ? "bias + GELU" : "bias";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {m} | {n} | {k} | {epilogue} | {half.Default:F1} | {int8.Default:F1} | {half.Best:F1} ({half.Tile}) | {int8.Best:F1} ({int8.Tile}) | {int8.Best / half.Best:F2} |"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| **Swin-T's Linears (each × its count)** | | | | | {sums[0]:F0} | {sums[1]:F0} ({sums[1] / sums[0]:F2}×) | {sums[2]:F0} | {sums[3]:F0} | {sums[3] / sums[2]:F2} |"));
    }

    /// <summary>Uniform int8 codes (−128 … 127) on the device.</summary>
    private static CudaTensor RandomCodes(CudaDevice device, Random rng, params int[] dims)
    {
        using var host = CpuTensor.Zeros(DType.Int8, dims);
        rng.NextBytes(host.Bytes);
        return CudaTensor.FromHost(device, host);
    }
}
