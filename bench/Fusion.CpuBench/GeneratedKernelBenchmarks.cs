using BenchmarkDotNet.Attributes;
using SwinTiny.Model;

namespace Fusion.CpuBench;

/// <summary>
/// Every generated (loop-IR) kernel of Swin-T's float32 plan at batch 1 as the CPU backend runs it: LayerNorm with the shift and
/// window partition, window reverse with the shift back, residual add and the next LayerNorm, patch merging with its LayerNorm,
/// and the rest, each on random inputs of its buffers' shapes. (The GEMM epilogues' kernels are left out: the CPU GEMM applies
/// Swin-T's epilogues to its tiles, see <see cref="GemmBenchmarks"/>.)
/// </summary>
public class GeneratedKernelBenchmarks
{
    private static readonly Lazy<Dictionary<string, GeneratedKernel>> s_kernels = new(() =>
        SwinTransformerTiny.Kernels.OfType<GeneratedKernel>().Where(k => k.Name.Contains("_f32_", StringComparison.Ordinal) && !k.Name.EndsWith("_epilogue", StringComparison.Ordinal))
            .DistinctBy(k => k.Name).ToDictionary(k => k.Name));

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
