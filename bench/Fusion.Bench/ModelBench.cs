using Fusion.Cuda;

namespace Fusion.Bench;

/// <summary>
/// A whole model's forward pass (swin-t, vit-b16, resnet-50 or convnext-t) in fp16 (and/or the Int8 plan) on the GPU (generated fused kernels, cuBLASLt where fast-run
/// picks it), random weights and inputs: CUDA events around each Run (host-side launch gaps included, as an eager
/// run has them), 5 warm-ups after a first run that compiles and measures, median of 30; then the same
/// forward pass captured once as a CUDA graph (<see cref="GraphedModel"/>) and timed as replays.
/// </summary>
internal static class ModelBench
{
    public static void Run(string name, IReadOnlyList<int> batches, IReadOnlyList<Precision> precisions)
    {
        using var backend = CudaBackend.Open(0);
        var device = backend.CudaDevice;
        Console.WriteLine($"device: {device}; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        IFusedModel model = name switch
        {
            "swin-t" => new SwinTiny.Model.SwinTransformerTiny(),
            "swin-t-accurate" => new SwinTiny.Model.SwinTinyInt8Accurate(), // Swin-T whose Int8 plan keeps fc2 and the reductions fp16
            "vit-b16" => new ViT.Model.VisionTransformerBase16(),
            "resnet-50" => new ResNetSample.Model.ResNet50(),
            "convnext-t" => new ConvNeXtSample.Model.ConvNeXtTiny(),
            _ => throw new ArgumentException($"no model '{name}' (swin-t, swin-t-accurate, vit-b16, resnet-50, convnext-t)", nameof(name)),
        };
        Action<IFusedModel, int> initialize = name switch
        {
            "vit-b16" => ViT.RandomWeights.Initialize,
            "resnet-50" => ResNetSample.RandomWeights.Initialize,
            "convnext-t" => ConvNeXtSample.RandomWeights.Initialize,
            _ => SwinTiny.RandomWeights.Initialize,
        };
        initialize(model, 0);
        foreach (var precision in precisions) backend.Precompile(model.Kernels, precision);
        if (precisions.Contains(Precision.Int8) || precisions.Contains(Precision.Fp8)) Calibrate(model);
        var random = new Random(1);
        foreach (int batch in batches)
        {
            var data = new Half[batch * 3 * 224 * 224];
            for (int i = 0; i < data.Length; i++) data[i] = (Half)(random.NextDouble() * 2 - 1);
            using var host = CpuTensor.FromArray(data, batch, 3, 224, 224);
            using var input = backend.FromHost(host);
            foreach (var precision in precisions)
            {
                string label = precision switch { Precision.Int8 => "int8", Precision.Fp8 => "fp8", _ => "fp16" };
                using (model.Run([input], backend, precision)) { } // kernels, fast-run choices, constants
                double ms = EventTiming.MedianMilliseconds(device, device.DefaultStream, () => model.Run([input], backend, precision).Dispose(), warmup: 5, repeats: 30);
                Console.WriteLine($"{name} {label} batch {batch,3}: median {ms,8:F3} ms, {batch / ms * 1000,8:F0} images/s (eager launches)");
                using var graphed = GraphedModel.Capture(model, backend, input, precision);
                double graphMs = EventTiming.MedianMilliseconds(device, device.DefaultStream, () => graphed.Replay(), warmup: 5, repeats: 30);
                Console.WriteLine($"{name} {label} batch {batch,3}: median {graphMs,8:F3} ms, {batch / graphMs * 1000,8:F0} images/s (CUDA graph replay)");
            }
        }
    }

    /// <summary>
    /// Int8 scales from the eager FP32 Forward on the CPU over two random images: the timing does not depend on their values
    /// (docs/precision.md measures accuracy with a real calibration).
    /// </summary>
    private static void Calibrate(IFusedModel model)
    {
        using var calibration = new Quantization.LinearInputCalibration(model);
        var random = new Random(2);
        var values = new float[2 * 3 * 224 * 224];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(random.NextDouble() * 4 - 2);
        using var images = CpuTensor.FromArray(values, 2, 3, 224, 224);
        calibration.Run(images);
        model.Int8Scales!.Load(calibration.Thresholds(Quantization.CalibrationMethod.Max));
    }
}
