using Fusion.Cuda;
using Fusion.Kernels;

namespace Fusion.Bench;

/// <summary>Benchmark operands: random fp16 tensors (drawn uniformly from one generator and uploaded to the device) and specialized templates.</summary>
internal static class BenchData
{
    /// <summary>A device tensor of <paramref name="dims"/> with fp16 values uniform in [<paramref name="lo"/>, <paramref name="hi"/>).</summary>
    public static CudaTensor RandomHalves(CudaDevice device, Random rng, float lo, float hi, params int[] dims)
    {
        using var host = CpuTensor.Zeros(DType.Float16, dims);
        var span = host.Span<Half>();
        for (int i = 0; i < span.Length; i++) span[i] = (Half)(lo + (hi - lo) * rng.NextSingle());
        return CudaTensor.FromHost(device, host);
    }

    /// <summary>Uniform in [−1, 1).</summary>
    public static CudaTensor RandomHalves(CudaDevice device, Random rng, params int[] dims) => RandomHalves(device, rng, -1f, 1f, dims);

    /// <summary>The fused template <paramref name="pattern"/> specialized to <paramref name="constants"/>, named after them.</summary>
    public static FusedKernel Kernel(string pattern, params (string Key, int Value)[] constants)
    {
        var dict = constants.ToDictionary(c => c.Key, c => c.Value);
        var name = pattern + string.Concat(constants.Select(c => $"_{c.Key.ToLowerInvariant()}{c.Value}"));
        return new FusedKernel(name, pattern, KernelTemplates.Specialize(pattern, name, dict), dict);
    }
}
