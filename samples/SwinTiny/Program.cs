using System.Diagnostics;
using Fusion;
using SwinTiny;
using SwinTiny.Model;

// Runs the first two Swin-T blocks (regular and shifted windows) through the compiled forward
// pass on random weights and a random input, and prints what ran, how long it took and a digest
// of the output. Options: --batch N (default 1), --seed S (default 0), --iters N (default 5),
// --device auto|cpu|cuda (default auto; whole models run on the CPU backend for now).
var options = SampleOptions.Parse(args, out int exitCode);
if (options is null) return exitCode;

var backend = SampleOptions.SelectBackend(options.Device);
if (backend is null) return 2;

var model = new SwinStage1Blocks();
RandomWeights.Initialize(model, options.Seed);
var info = SwinStage1Blocks.Info;
Console.WriteLine($"model:  {info.Name}: {info.OperatorCount} operators, {info.Parameters.Count} parameter tensors ({info.ParameterCount:N0} values)");
Console.WriteLine($"input:  x {info.Inputs[0].Describe()} with N = {options.Batch}, f32, seed {options.Seed}");

var random = new Random(options.Seed + 1);
var data = new float[options.Batch * SwinStage1Blocks.Resolution * SwinStage1Blocks.Resolution * SwinStage1Blocks.Channels];
for (int i = 0; i < data.Length; i++) data[i] = (float)(random.NextDouble() * 2 - 1);
using var input = CpuTensor.FromArray(data, options.Batch, SwinStage1Blocks.Resolution, SwinStage1Blocks.Resolution, SwinStage1Blocks.Channels);

var times = new List<double>();
float[] output = [];
for (int iteration = 0; iteration <= options.Iterations; iteration++)
{
    var clock = Stopwatch.StartNew();
    using var result = model.Run(input, backend);
    clock.Stop();
    if (iteration == 0)
    {
        Console.WriteLine($"warm-up: {clock.Elapsed.TotalMilliseconds:F1} ms");
        output = ((CpuTensor)result).ToFloatArray();
        Console.WriteLine($"output: {result.Shape}, mean {output.Average():F6}, mean |x| {output.Average(MathF.Abs):F6}, first {output[0]:F6}");
        continue;
    }
    times.Add(clock.Elapsed.TotalMilliseconds);
}
times.Sort();
if (times.Count > 0)
    Console.WriteLine($"time:   median {times[times.Count / 2]:F1} ms, min {times[0]:F1} ms, max {times[^1]:F1} ms over {times.Count} runs (wall clock, {backend.Name})");
return 0;
