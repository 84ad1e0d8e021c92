using BenchmarkDotNet.Attributes;
using SwinTiny.Model;

namespace Fusion.CpuBench;

/// <summary>
/// Every generated (loop-IR) kernel of the float32 plans of Swin-T, ConvNeXt-T and ResNet-50 at batch 1 as the CPU backend runs it,
/// named "model/kernel": Swin-T's LayerNorm with the shift and window partition, window reverse with the shift back, residual add and
/// the next LayerNorm, patch merging with its LayerNorm; ConvNeXt-T's depthwise convolutions (strided walks); ResNet-50's im2col
/// gathers and max pool; and the rest, each on random inputs of its buffers' shapes. (The GEMM epilogues' kernels are left out: the
/// CPU GEMM applies these epilogues to its tiles, see <see cref="GemmBenchmarks"/>.)
/// </summary>
public class GeneratedKernelBenchmarks
{
    private static readonly Lazy<Dictionary<string, GeneratedKernel>> s_kernels = new(() =>
        Float32Kernels("swin-t", SwinTransformerTiny.Kernels).Concat(Float32Kernels("convnext-t", ConvNeXtSample.Model.ConvNeXtTiny.Kernels))
            .Concat(Float32Kernels("resnet-50", ResNetSample.Model.ResNet50.Kernels)).ToDictionary(k => k.Name, k => k.Kernel));

    private static IEnumerable<(string Name, GeneratedKernel Kernel)> Float32Kernels(string model, IEnumerable<IKernel> kernels) =>
        kernels.OfType<GeneratedKernel>().Where(k => k.Name.Contains("_f32_", StringComparison.Ordinal) && !k.Name.EndsWith("_epilogue", StringComparison.Ordinal))
            .DistinctBy(k => k.Name).Select(k => ($"{model}/{k.Name}", k));

    private GeneratedKernel _kernel = null!;
    private CpuTensor[] _inputs = [];

    public static IEnumerable<string> Names => s_kernels.Value.Keys.Order(StringComparer.Ordinal);

    [ParamsSource(nameof(Names))]
    public string Kernel { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        _kernel = s_kernels.Value[Kernel];
        var random = new Random(3);
        _inputs = _kernel.Ir.Inputs.Select(b =>
        {
            var dims = b.Shape.Select(d => checked((int)d.At(1))).ToArray();
            return CpuTensor.FromArray(Data.Uniform(random, dims.Aggregate(1, (p, d) => p * d)), dims);
        }).ToArray();
    }

    [Benchmark]
    public void Run()
    {
        foreach (var output in CpuBackend.Instance.Run(_kernel, 1, DType.Float32, _inputs)) output.Dispose();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var input in _inputs) input.Dispose();
    }
}
