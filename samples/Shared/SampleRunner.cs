using System.Diagnostics;
using Fusion.IO;

namespace Fusion.Samples;

/// <summary>
/// A sample's program: runs its model through the compiled forward pass and prints the device it chose and why, the model, the
/// top-5 classes of each input (or a digest of a feature map) and the time per forward pass. See <see cref="SampleOptions.Usage"/>.
/// </summary>
internal static class SampleRunner
{
    public static int Run(string[] args, SampleDefinition sample)
    {
        var options = SampleOptions.Parse(args, sample, out int exitCode);
        if (options is null) return exitCode;

        using var backend = SampleOptions.SelectBackend(options.Device); // a CUDA backend owns its device and memory
        if (backend is null) return 2;
        // The model is declared in FP32; --precision picks the plan (fp16: mixed precision, fp16 storage and kernels, fp32
        // accumulation). Input and output stay f32 either way: the session casts at the edges (or folds the casts into kernels).
        var precision = (options.Precision ?? (backend.Device == DeviceKind.Cuda ? "fp16" : "fp32")) switch
        {
            "fp16" => Precision.Half,
            "int8" => Precision.Int8,
            "fp8" => Precision.Fp8,
            _ => Precision.Float,
        };

        try
        {
            IFusedModel model = sample.Models[options.Model]();
            var info = model.Info;
            if (options.Weights is null)
            {
                sample.RandomWeights(model, options.Seed);
                Console.WriteLine($"weights: random, seed {options.Seed}");
            }
            else
            {
                var clock = Stopwatch.StartNew();
                var report = model.LoadWeights(options.Weights, WeightLoadOptions.IgnoreUnexpected);
                Console.WriteLine($"weights: {options.Weights}: {report.Loaded.Count} tensors ({string.Join(", ", report.Loaded.Select(l => l.StoredAs).Distinct())} on disk) in {clock.Elapsed.TotalMilliseconds:F0} ms"
                    + (report.Unexpected.Count > 0 ? $"; ignored {report.Unexpected.Count} tensors the model does not use" : ""));
            }
            (backend as CudaBackend)?.Precompile(model.Kernels, precision); // compiles in parallel into the kernel cache; the first run loads them
            Console.WriteLine($"model:   {info.Name}: {info.OperatorCount} operators after fusion, " +
                $"{model.Kernels.OfType<GeneratedKernel>().Count()} generated kernels, {model.Kernels.OfType<GemmKernel>().Count()} GEMMs, " +
                $"{model.Kernels.OfType<FusedKernel>().Count()} templates, {info.ParameterCount:N0} parameters");

            using var hostInput = options.Input is null
                ? RandomInput(info.Inputs[0].Dims, options.Batch, options.Seed + 1)
                : InputFiles.Load(options.Input, info.Inputs[0], sample.Transform);
            string mode = precision switch
            {
                Precision.Half => "fp16 (mixed precision, f32 input and output)",
                Precision.Int8 => "int8 (int8 GEMMs, the rest fp16; f32 input and output)",
                Precision.Fp8 => "fp8 (FP8 E4M3 GEMMs through cuBLASLt, the rest fp16; f32 input and output)",
                _ => "fp32",
            };
            Console.WriteLine($"input:   {(options.Input ?? "random")} {hostInput.Shape}, run in {mode}");
            if (precision is Precision.Int8 or Precision.Fp8) Console.WriteLine("scales:  " + Int8Scales.Load(model, options, hostInput));
            using var input = backend.FromHost(hostInput);
            var session = new ModelSession(model, new SessionOptions(backend, precision));

            var times = new List<double>();
            for (int iteration = 0; iteration <= options.Iterations; iteration++)
            {
                var clock = Stopwatch.StartNew();
                using var result = session.Run(input);
                using var host = backend.ToHost(result); // waits for the device, so the clock covers the work
                clock.Stop();
                if (iteration > 0)
                {
                    times.Add(clock.Elapsed.TotalMilliseconds);
                    continue;
                }
                // The first run compiles kernels (or loads them from the cache) and, on CUDA, measures GEMM paths once.
                Console.WriteLine($"first run: {clock.Elapsed.TotalMilliseconds:F1} ms (kernel preparation included)");
                Report.PrintOutput(host, sample.FeatureMaps.Contains(options.Model));
            }
            times.Sort();
            if (times.Count > 0)
                Console.WriteLine($"time:    median {times[times.Count / 2]:F2} ms, min {times[0]:F2} ms, max {times[^1]:F2} ms over {times.Count} runs ({backend.Name}; wall clock incl. copy back)");
            return 0;
        }
        catch (FusionException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 1;
        }
    }

    private static CpuTensor RandomInput(int[] dims, int batch, int seed)
    {
        var shape = dims.Select(d => d == Dim.Batch ? batch : d).ToArray();
        var random = new Random(seed);
        var data = new float[shape.Aggregate(1, (a, d) => a * d)];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(random.NextDouble() * 2 - 1);
        return CpuTensor.FromArray(data, shape);
    }
}
