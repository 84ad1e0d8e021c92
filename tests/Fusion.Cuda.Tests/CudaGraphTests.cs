namespace Fusion.Cuda.Tests;

public sealed class CudaGraphTests : GpuTestBase
{
    [Fact]
    public void ReplayEqualsDirectLaunches()
    {
        const int rows = 1000, channels = 64, n = rows * channels;
        Half[] x = TestData.RandomHalves(Rng, n), r = TestData.RandomHalves(Rng, n), bias = TestData.RandomHalves(Rng, channels);
        using var biasResidual = new BiasResidualKernel(Jit);
        using var module = Jit.LoadShipped("elementwise_half2.cu");
        var fma = module.GetKernel("fusion_fma_relu_half2");
        using var stream = new CudaStream(Device);
        using CudaTensor dx = Upload(x, rows, channels), dr = Upload(r, rows, channels), db = Upload(bias, channels);
        using CudaTensor sum = CudaTensor.Empty(Device, DType.Float16, rows, channels), output = CudaTensor.Empty(Device, DType.Float16, rows, channels);

        // out = relu(sum * x + r) where sum = x + bias + r: two dependent kernels and a memset.
        void Work(CudaStream s)
        {
            output.FillBytes(0xFF, s);
            biasResidual.Run(dx, db, dr, sum, s);
            fma.Launch(s, 64, 256, new KernelArguments().Pointer(sum).Pointer(dx).Pointer(dr).Pointer(output).Int(n / 2));
        }

        Work(stream);
        stream.Synchronize();
        var direct = Download(output);

        using var graph = CudaGraph.Capture(stream, Work);
        Assert.Equal(new GraphNodeCount(Kernels: 2, Copies: 0, Memsets: 1, EventRecords: 0, Other: 0), graph.Nodes);
        output.FillBytes(0, stream);
        for (int replay = 0; replay < 3; replay++) graph.Launch(stream);
        stream.Synchronize();
        Assert.Equal(direct, Download(output));
    }
}
