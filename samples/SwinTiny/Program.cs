using System.Diagnostics;
using Fusion;
using SwinTiny;
using SwinTiny.Model;

// Runs the first two Swin-T blocks (regular and shifted windows) through the compiled forward
// pass on random weights and a random input, and prints what ran, how long it took and a digest
// of the output. Options: --batch N (default 1), --seed S (default 0), --iters N (default 5),
// --device auto|cpu|cuda (default auto: CUDA when usable). On CUDA the model runs in fp16 with the
// generated fused kernels; on the CPU in fp32 with their CPU twins.
var options = SampleOptions.Parse(args, out int exitCode);
if (options is null) return exitCode;

var backend = SampleOptions.SelectBackend(options.Device);
if (backend is null) return 2;
using var ownedBackend = backend as IDisposable; // a CUDA backend owns its device and memory
var dtype = backend.Device == DeviceKind.Cuda ? DType.Float16 : DType.Float32;

var model = new SwinStage1Blocks();
RandomWeights.Initialize(model, options.Seed);
var info = SwinStage1Blocks.Info;
Console.WriteLine($"model:  {info.Name}: {info.OperatorCount} operators after fusion, {SwinStage1Blocks.Kernels.Count} generated kernels, {info.Parameters.Count} parameter tensors ({info.ParameterCount:N0} values)");
Console.WriteLine($"input:  x {info.Inputs[0].Describe()} with N = {options.Batch}, {dtype.ShortName()}, seed {options.Seed}");

var random = new Random(options.Seed + 1);
var data = new float[options.Batch * SwinStage1Blocks.Resolution * SwinStage1Blocks.Resolution * SwinStage1Blocks.Channels];
for (int i = 0; i < data.Length; i++) data[i] = (float)(random.NextDouble() * 2 - 1);
using var hostInput = CpuTensor.FromArray(data, options.Batch, SwinStage1Blocks.Resolution, SwinStage1Blocks.Resolution, SwinStage1Blocks.Channels);
using var converted = (CpuTensor)CpuBackend.Instance.Cast(hostInput, dtype);
using var input = backend.FromHost(converted);

var times = new List<double>();
for (int iteration = 0; iteration <= options.Iterations; iteration++)
{
    var clock = Stopwatch.StartNew();
    using var result = model.Run(input, backend);
    using var host = backend.ToHost(result); // waits for the device, so the clock covers the work
    clock.Stop();
    if (iteration == 0)
    {
        // The first run compiles (or loads from the kernel cache) and, on CUDA, measures GEMM paths once.
        Console.WriteLine($"first run: {clock.Elapsed.TotalMilliseconds:F1} ms (kernel preparation included)");
        var output = host.ToFloatArray();
        Console.WriteLine($"output: {result.Shape} {result.DType.ShortName()}, mean {output.Average():F6}, mean |x| {output.Average(MathF.Abs):F6}, first {output[0]:F6}");
        continue;
    }
    times.Add(clock.Elapsed.TotalMilliseconds);
}
times.Sort();
if (times.Count > 0)
    Console.WriteLine($"time:   median {times[times.Count / 2]:F2} ms, min {times[0]:F2} ms, max {times[^1]:F2} ms over {times.Count} runs ({backend.Name}; wall clock incl. copy back)");
return 0;
