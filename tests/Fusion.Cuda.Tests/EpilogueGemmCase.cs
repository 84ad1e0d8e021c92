using Fusion.Cuda.Gemm;

namespace Fusion.Cuda.Tests;

/// <summary>
/// The GEMMs the epilogue-form tests (<see cref="EpilogueQuadsGpuTests"/>, <see cref="EpilogueGeluGpuTests"/>) run, with fresh random
/// operands on the GPU: "requantize" the int8 plan's fc1 (int8 codes in and out, dequantize · bias · GELU · requantize), "bias" an
/// fp16 Linear with a bias, "gelu" one with bias + GELU, "residual" one with bias + GELU + residual.
/// </summary>
internal sealed class EpilogueGemmCase : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    public EpilogueGemmCase(CudaDevice device, string kind, int n, int k, int m, Random rng)
    {
        Int8 = kind == "requantize";
        var requantizing = Int8 ? CustomGemms.RequantizingGelu(n, k) : null;
        if (requantizing is not null) Assert.Equal(["scale", "bias", "multiplier"], requantizing.EpilogueInputs);
        Kernel = kind switch
        {
            "requantize" => requantizing!.Kernel,
            "bias" => GemmKernels.Linear(n, k, bias: true, Activation.None, residual: false),
            "gelu" => GemmKernels.Linear(n, k, bias: true, Activation.Gelu, residual: false),
            "residual" => GemmKernels.Linear(n, k, bias: true, Activation.Gelu, residual: true),
            _ => throw new ArgumentException($"no GEMM case '{kind}'", nameof(kind)),
        };
        try
        {
            if (Int8)
            {
                var xHost = CpuTensor.Zeros(DType.Int8, m, k);
                var wHost = CpuTensor.Zeros(DType.Int8, n, k);
                foreach (var t in new[] { xHost, wHost })
                    for (int i = 0; i < t.Span<sbyte>().Length; i++) t.Span<sbyte>()[i] = (sbyte)rng.Next(-127, 128);
                (X, W) = (Upload(device, xHost), Upload(device, wHost));
                // Dequantized sums of about N(0, 2²), a bias of order one, codes spread over ±127 (a step of 6 / 127).
                float scale = (float)(2 / (5419 * Math.Sqrt(k)));
                Epilogue =
                [
                    Floats(device, Enumerable.Range(0, n).Select(_ => scale * (float)(0.8 + 0.4 * rng.NextDouble())).ToArray(), n),
                    Floats(device, Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray(), n),
                    Floats(device, [127f / 6], 1),
                ];
            }
            else
            {
                X = Upload(device, KernelChecks.Random(rng.Next(), DType.Float16, m, k));
                W = Upload(device, KernelChecks.Random(rng.Next(), DType.Float16, n, k));
                var bias = Upload(device, KernelChecks.Random(rng.Next(), DType.Float16, n));
                Epilogue = kind == "residual" ? [bias, Upload(device, KernelChecks.Random(rng.Next(), DType.Float16, m, n))] : [bias];
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public GemmKernel Kernel { get; }
    public bool Int8 { get; }
    public CudaTensor X { get; } = null!;
    public CudaTensor W { get; } = null!;
    public CudaTensor[] Epilogue { get; } = [];

    /// <summary>The output's element type: int8 codes or fp16.</summary>
    public DType Output => Int8 ? DType.Int8 : DType.Float16;

    private CudaTensor Upload(CudaDevice device, CpuTensor host)
    {
        _owned.Add(host);
        var t = CudaTensor.FromHost(device, host);
        _owned.Add(t);
        return t;
    }

    private CudaTensor Floats(CudaDevice device, float[] values, params int[] shape)
    {
        var host = CpuTensor.Zeros(DType.Float32, shape);
        values.CopyTo(host.Span<float>());
        return Upload(device, host);
    }

    public void Dispose()
    {
        for (int i = _owned.Count - 1; i >= 0; i--) _owned[i].Dispose();
        _owned.Clear();
    }
}
