using Fusion;
using Fusion.Cuda;
using Fusion.Testing;
using SwinTiny;
using SwinTiny.Model;

namespace Fusion.SwinTiny.Tests;

/// <summary>
/// The odd Swin blocks with seeded random weights on a CUDA backend of their own, fed one fp16 batch-3 input: for tests
/// that run the same pass several times and compare the device's allocations and the outputs between passes.
/// </summary>
internal sealed class OddBlocksOnGpu : IDisposable
{
    private readonly CpuTensor _host;

    public OddBlocksOnGpu(CudaDevice device)
    {
        Backend = new CudaBackend(device);
        RandomWeights.Initialize(Model, TestData.NewSeed());
        _host = TestData.Random(TestData.NewSeed(), DType.Float16, 3, 14, 14, 30).ToCpu(DType.Float16);
        Input = Backend.FromHost(_host);
    }

    public CudaBackend Backend { get; }

    public OddSwinBlocks Model { get; } = new();

    public Tensor Input { get; }

    /// <summary>One compiled pass, its output copied to the host.</summary>
    public float[] RunOnce()
    {
        using var output = Model.Run(Input, Backend);
        using var back = Backend.ToHost(output);
        return back.ToFloatArray();
    }

    public void Dispose()
    {
        Input.Dispose();
        _host.Dispose();
        Backend.Dispose();
    }
}
