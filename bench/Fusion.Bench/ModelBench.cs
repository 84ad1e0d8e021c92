using Fusion.Cuda;
using SwinTiny;
using SwinTiny.Model;

namespace Fusion.Bench;

/// <summary>
/// The whole Swin-T forward pass in fp16 on the GPU (generated fused kernels, cuBLASLt where fast-run picks
/// it), random weights and inputs: CUDA events around each Run (host-side launch gaps included, as an eager
/// run has them), 5 warm-ups after a first run that compiles and measures, median of 30; then the same
/// forward pass captured once as a CUDA graph (<see cref="GraphedModel"/>) and timed as replays.
/// </summary>
internal static class ModelBench
{
    public static void Run(IReadOnlyList<int> batches)
    {
        using var backend = CudaBackend.Open(0);
        var device = backend.CudaDevice;
        Console.WriteLine($"device: {device}; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        var model = new SwinTransformerTiny();
        RandomWeights.Initialize(model, 0);
        backend.Precompile(SwinTransformerTiny.Kernels);
        var random = new Random(1);
        foreach (int batch in batches)
        {
            var data = new Half[batch * 3 * 224 * 224];
            for (int i = 0; i < data.Length; i++) data[i] = (Half)(random.NextDouble() * 2 - 1);
            using var host = CpuTensor.FromArray(data, batch, 3, 224, 224);
            using var input = backend.FromHost(host);
            using (model.Run(input, backend)) { } // kernels, fast-run choices, constants
            double ms = EventTiming.MedianMilliseconds(device, device.DefaultStream, () => model.Run(input, backend).Dispose(), warmup: 5, repeats: 30);
            Console.WriteLine($"swin-t fp16 batch {batch,3}: median {ms,8:F3} ms, {batch / ms * 1000,8:F0} images/s (eager launches)");
            using var graphed = GraphedModel.Capture(model, backend, input);
            double graphMs = EventTiming.MedianMilliseconds(device, device.DefaultStream, () => graphed.Replay(), warmup: 5, repeats: 30);
            Console.WriteLine($"swin-t fp16 batch {batch,3}: median {graphMs,8:F3} ms, {batch / graphMs * 1000,8:F0} images/s (CUDA graph replay)");
        }
    }
}
