using System.Diagnostics;
using Fusion;
using Fusion.Bench;
using Fusion.Cuda;
using Fusion.Kernels;

// Benchmark: (1) the half2 bias+residual kernel on a 64×3136×96 fp16 tensor against a device-to-device
// copy of the same tensor on the same GPU, both as bytes moved (read + written) per second;
// (2) cold (NVRTC compile + load) and warm (disk cache + load) JIT times of that kernel.
// `Fusion.Bench gemm` runs the fused-GEMM benchmark instead (GemmBench.cs).
// `Fusion.Bench lowp [batch]` times the int8 and FP8 Linear layers against the fp16 one on every Swin-T shape (LowPrecisionLinearBench.cs).
// `Fusion.Bench gemm-tiles [batch]` times every Swin-T linear layer on cuBLASLt and each generated tile (GemmTileBench.cs).
// `Fusion.Bench model [swin-t|vit-b16] [batch…]` times a whole model's forward pass (ModelBench.cs).
// `Fusion.Bench cpu [one-core]` times the CPU GEMM against the measured FMA peak (CpuGemmBench.cs); it needs no GPU.
// `Fusion.Bench attention [batch heads]` times the flash-attention kernel at T = 197 … 4096 (AttentionBench.cs).
// `Fusion.Bench generated [swin-t|vit-b16] [batch]` times each generated kernel's CUDA C and ILGPU C# against its floor (GeneratedKernelBench.cs).
// `Fusion.Bench ilgpu-compile [swin-t|vit-b16]` times ILGPU compiling a model's generated kernels to PTX (IlgpuCompileBench.cs; --ptx DIR keeps them); no GPU.
// `Fusion.Bench gemm-sources DIR` writes the GEMM template's kernel sources that bench/cuda/gemm_epilogue_variants.py turns into variants; no GPU.
// `Fusion.Bench strided-sources DIR` writes ConvNeXt-T's depthwise kernels on several thread mappings for bench/cuda/strided_variants.sh; no GPU.
if (args.Length > 0 && args[0] == "attention")
{
    AttentionBench.Run(args.Length > 2 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 8,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 12);
    return;
}
if (args is ["gemm-sources", var sourceDir])
{
    GemmSourcesDump.Write(sourceDir);
    return;
}
if (args is ["strided-sources", var stridedDir])
{
    StridedSourcesDump.Write(stridedDir);
    return;
}
if (args.Length > 0 && args[0] == "ilgpu-compile")
{
    // `ilgpu-compile [model] [--ptx DIR]`: DIR receives every method's PTX and every kernel's CUDA C.
    int ptxAt = Array.IndexOf(args, "--ptx");
    IlgpuCompileBench.Run(args.Length > 1 && !args[1].StartsWith("--", StringComparison.Ordinal) ? args[1] : "swin-t",
        ptxAt > 0 && ptxAt + 1 < args.Length ? args[ptxAt + 1] : null);
    return;
}
if (args.Length > 0 && args[0] == "generated")
{
    // `generated [model] [batch]`: each generated kernel as CUDA C and as ILGPU C# against its floor (GeneratedKernelBench.cs).
    GeneratedKernelBench.Run(args.Length > 1 && !char.IsDigit(args[1][0]) ? args[1] : "swin-t",
        args.Length > 1 && char.IsDigit(args[^1][0]) ? int.Parse(args[^1], System.Globalization.CultureInfo.InvariantCulture) : 64);
    return;
}
if (args is ["cpu", "bracketed", ..])
{
    CpuGemmBench.RunBracketed(args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 9);
    return;
}
if (args is ["cpu", "variants", ..])
{
    CpuGemmBench.RunVariants(args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 9);
    return;
}
if (args is ["cpu", "shapes", ..])
{
    CpuGemmBench.RunShapes(args[2..].Select(shape => shape.Split(',').Select(d => int.Parse(d, System.Globalization.CultureInfo.InvariantCulture)).ToArray())
        .Select(d => d is [var m, var n, var k] ? (m, n, k) : throw new ArgumentException($"a shape is M,N,K, not {string.Join(',', d)}")).ToList());
    return;
}
if (args is ["cpu", "rounds", ..])
{
    CpuGemmBench.RunRounds(args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 5);
    return;
}
if (args is ["cpu"] or ["cpu", "one-core"])
{
    CpuGemmBench.Run(oneCoreOnly: args.Length > 1);
    return;
}
if (args.Length > 0 && args[0] == "model")
{
    // `model [swin-t|vit-b16] [fp16|int8|fp8|both|all] [batch…]`: Swin-T in fp16 unless named (both: fp16 and int8; all: and fp8).
    var rest = args[1..];
    var words = rest.TakeWhile(a => !char.IsDigit(a[0])).ToList();
    string[] precisionWords = ["fp16", "int8", "fp8", "both", "all"];
    string name = words.FirstOrDefault(w => !precisionWords.Contains(w)) ?? "swin-t";
    string precisions = words.FirstOrDefault(precisionWords.Contains) ?? "fp16";
    var batches = rest.SkipWhile(a => !char.IsDigit(a[0])).Select(int.Parse).ToArray();
    Fusion.Precision[] plans = precisions switch
    {
        "both" => [Fusion.Precision.Half, Fusion.Precision.Int8],
        "all" => [Fusion.Precision.Half, Fusion.Precision.Int8, Fusion.Precision.Fp8],
        "int8" => [Fusion.Precision.Int8],
        "fp8" => [Fusion.Precision.Fp8],
        _ => [Fusion.Precision.Half],
    };
    Fusion.Bench.ModelBench.Run(name, batches.Length > 0 ? batches : [1, 8, 64, 128], plans);
    return;
}
if (args.Length > 0 && args[0] == "gemm-tiles")
{
    GemmTileBench.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1);
    return;
}
if (args.Length > 0 && args[0] == "lowp")
{
    // `lowp [batch]`: the int8 and FP8 Linear layers against the fp16 one on every Swin-T shape (LowPrecisionLinearBench.cs).
    LowPrecisionLinearBench.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 64);
    return;
}
if (args is ["gemm"])
{
    GemmBench.Run();
    return;
}

using var device = CudaDevice.Open(0);
var stream = device.DefaultStream;
Console.WriteLine($"device: {device}; NVRTC {Nvrtc.Version}; cuBLASLt {CublasLt.Version}; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
if (args.Contains("--fused"))
{
    FusedBench.Run(device); // the fused Swin kernels only (see FusedBench)
    return;
}

const int batch = 64, tokens = 3136, channels = 96;
long n = (long)batch * tokens * channels;
var rng = new Random(1234);
CudaTensor RandomHalfTensor(params int[] dims) => BenchData.RandomHalves(device, rng, dims);

// JIT: a fresh cache folder so the first load compiles; a new JIT on the same folder then hits the disk cache.
var cacheDir = Directory.CreateTempSubdirectory("fusion-bench-cache-").FullName;
var source = KernelSources.Get("bias_residual_half2.cu");
double ColdOrWarm(out KernelCacheOutcome outcome)
{
    var jit = new KernelJit(device, new KernelCache(cacheDir));
    var sw = Stopwatch.StartNew();
    using var module = jit.Load("bias_residual_half2", source);
    module.GetKernel("fusion_bias_residual_half2");
    sw.Stop();
    outcome = jit.LastOutcome;
    return sw.Elapsed.TotalMilliseconds;
}
_ = Nvrtc.Version; // library load and version query stay out of the cold time
double cold = ColdOrWarm(out var coldOutcome);
var warmTimes = Enumerable.Range(0, 9).Select(_ => ColdOrWarm(out var o) is var t && o == KernelCacheOutcome.Hit ? t : double.NaN).Order().ToArray();
double warm = warmTimes[warmTimes.Length / 2];
var coldTimes = new List<double> { cold };
for (int i = 0; i < 4; i++)
{
    Directory.Delete(cacheDir, true);
    coldTimes.Add(ColdOrWarm(out _));
}
coldTimes.Sort();
Console.WriteLine($"jit cold (NVRTC compile + load, {coldOutcome}): first {cold:F1} ms, median of 5 {coldTimes[2]:F1} ms; warm (disk hit + load): median of 9 {warm:F2} ms");

// Bandwidth: rotate among three input sets so no run reads what the previous one left in L2.
var jitForRun = new KernelJit(device, new KernelCache(cacheDir));
using var kernel = new BiasResidualKernel(jitForRun);
var sets = Enumerable.Range(0, 3).Select(_ => (X: RandomHalfTensor(batch, tokens, channels), R: RandomHalfTensor(batch, tokens, channels))).ToArray();
using var bias = RandomHalfTensor(channels);
using var output = CudaTensor.Empty(device, DType.Float16, batch, tokens, channels);
int turn = 0;
double kernelMs = EventTimer.MedianMilliseconds(device, stream, () =>
{
    var s = sets[turn++ % sets.Length];
    kernel.Run(s.X, bias, s.R, output);
});
turn = 0;
double copyMs = EventTimer.MedianMilliseconds(device, stream, () => output.CopyFrom(sets[turn++ % sets.Length].X));
// A large copy as a second reference: the copy engine's best case, far beyond L2 and launch costs.
using var bigSource = CudaTensor.Empty(device, DType.Float16, 1 << 29);
using var bigTarget = CudaTensor.Empty(device, DType.Float16, 1 << 29);
bigSource.FillBytes(0x3C);
double bigCopyMs = EventTimer.MedianMilliseconds(device, stream, () => bigTarget.CopyFrom(bigSource), warmup: 3, repeats: 20);
stream.Synchronize();

long tensorBytes = n * 2;
double kernelGBs = 3.0 * tensorBytes / (kernelMs * 1e6); // read x and residual, write out (bias is 192 bytes)
double copyGBs = 2.0 * tensorBytes / (copyMs * 1e6);     // read source, write destination
Console.WriteLine($"bias+residual {batch}x{tokens}x{channels} fp16: median {kernelMs * 1000:F1} us, {kernelGBs:F0} GB/s");
Console.WriteLine($"cuMemcpyDtoDAsync of one {tensorBytes >> 20} MiB tensor: median {copyMs * 1000:F1} us, {copyGBs:F0} GB/s");
double bigCopyGBs = 2.0 * bigSource.SizeInBytes / (bigCopyMs * 1e6);
Console.WriteLine($"cuMemcpyDtoDAsync of 1 GiB: median {bigCopyMs * 1000:F1} us, {bigCopyGBs:F0} GB/s");
Console.WriteLine($"bias+residual reaches {100 * kernelGBs / copyGBs:F1}% of the same-size copy and {100 * kernelGBs / bigCopyGBs:F1}% of the 1 GiB copy (target >= 85%)");
foreach (var s in sets)
{
    s.X.Dispose();
    s.R.Dispose();
}
Directory.Delete(cacheDir, true);
