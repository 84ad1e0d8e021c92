using System.Globalization;
using Fusion.Cuda;
using Fusion.Cuda.Gemm;

namespace Fusion.Bench;

/// <summary>
/// `Fusion.Bench gemm-tiles [batch]`: every linear layer shape of Swin-T at one batch size (default 1), timed on cuBLASLt and
/// on the generated gemm_bias_act kernel in each tile fast-run considers on the device (<see cref="GemmTile.CandidatesFor"/>: the Hopper tiles on compute capability 9.0, and the split-K ones whatever FUSION_GEMM_SPLITK says). Median device
/// time per call (CUDA events behind a <see cref="StreamHold"/>, so GPU time without the host's launch overhead; 10 warm-ups,
/// median of 50; operands stay in L2 at these sizes, as they do in the model), and
/// which one fast-run would keep. Small batches leave the default 128-row tile with fewer blocks than the H100 has SMs.
/// </summary>
internal static class GemmTileBench
{
    public static void Run(int batch)
    {
        using var device = CudaDevice.Open(0);
        var stream = device.DefaultStream;
        Console.WriteLine($"device: {device}; NVRTC {Nvrtc.Version}; cuBLASLt {CublasLt.Version}; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; batch {batch}");
        var rng = new Random(97);
        CudaTensor RandomHalves(params int[] dims) => BenchData.RandomHalves(device, rng, dims);

        var cacheDir = Directory.CreateTempSubdirectory("fusion-bench-tiles-").FullName;
        var jit = new KernelJit(device, new KernelCache(cacheDir));
        using var gemm = new FusedGemm(device, jit, GemmPolicy.FastRun, choiceDirectory: cacheDir);
        using var hold = new StreamHold(jit);
        Console.WriteLine("| layer | m | N×K | cuBLASLt µs | generated µs by tile | fastest |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
        double totalDefault = 0, totalBest = 0, totalCublas = 0, totalUnsplit = 0;
        var layers = new List<(string Name, int Rows, int N, int K, Activation Act, bool Bias, bool Residual, int Count)>();
        for (int stage = 0; stage < 4; stage++)
        {
            int c = 96 << stage, m = batch * (3136 >> (2 * stage)), blocks = new[] { 2, 2, 6, 2 }[stage];
            layers.Add(($"s{stage} qkv", m, 3 * c, c, Activation.None, true, false, blocks));
            layers.Add(($"s{stage} proj", m, c, c, Activation.None, true, false, blocks));
            layers.Add(($"s{stage} fc1+gelu", m, 4 * c, c, Activation.Gelu, true, false, blocks));
            layers.Add(($"s{stage} fc2+res", m, c, 4 * c, Activation.None, true, true, blocks));
            if (stage < 3) layers.Add(($"s{stage} merge", m / 4, 2 * c, 4 * c, Activation.None, false, false, 1));
        }
        var kernels = layers.Select(l => GemmKernels.Linear(l.N, l.K, l.Bias, l.Act, l.Residual)).ToList();
        // Every tile of every layer compiled first, in parallel (a few hundred NVRTC compiles one at a time would take minutes).
        gemm.PrecompileTiles(kernels.SelectMany(k => GemmTile.CandidatesFor(k, device.ComputeCapability, splitK: true).Select(t => (k, t))), DType.Float16);
        foreach (var ((name, rows, n, k, _, hasBias, hasResidual, count), kernel) in layers.Zip(kernels))
        {
            using var x = RandomHalves(rows, k);
            using var w = RandomHalves(n, k);
            using var bias = hasBias ? RandomHalves(n) : null;
            using var residual = hasResidual ? RandomHalves(rows, n) : null;
            using var output = CudaTensor.Empty(device, DType.Float16, rows, n);
            double Time(GemmPath path, GemmTile? tile) => 1000 * hold.MedianMilliseconds(device, stream,
                () => gemm.RunWith(path, kernel, x, w, new[] { bias, residual }.Where(t => t is not null).Select(t => t!).ToList(), [output], rows,
                    DType.Float16, tile: tile), warmup: 10, repeats: 50);
            double cublas = Time(GemmPath.CublasLt, null);
            var tiles = GemmTile.CandidatesFor(kernel, device.ComputeCapability, splitK: true).Select(t => (Tile: t, Us: Time(GemmPath.Generated, t))).ToList();
            var best = tiles.MinBy(t => t.Us);
            totalDefault += count * Math.Min(cublas, tiles[0].Us);
            totalBest += count * Math.Min(cublas, best.Us);
            totalUnsplit += count * Math.Min(cublas, tiles.Where(t => t.Tile.Splits == 1).Min(t => t.Us));
            totalCublas += count * cublas;
            string cells = string.Join(", ", tiles.Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Tile} {t.Us:F1}")));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {rows} | {n}×{k} | {cublas:F1} | {cells} | {(cublas <= best.Us ? "cuBLASLt" : "generated " + best.Tile)} |"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"sum over Swin-T's linear layers (each shape × its count): cuBLASLt only {totalCublas:F0} µs; fastest of cuBLASLt and the default tile {totalDefault:F0} µs; fastest of cuBLASLt and every tile but the split-K ones {totalUnsplit:F0} µs; fastest of cuBLASLt and every tile {totalBest:F0} µs"));
        Directory.Delete(cacheDir, true);
    }
}
