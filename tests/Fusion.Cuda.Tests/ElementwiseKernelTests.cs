namespace Fusion.Cuda.Tests;

/// <summary>The half2 test kernels against CPU references; each result is rounded once, so they agree within one fp16 ulp.</summary>
public sealed class ElementwiseKernelTests : GpuTestBase
{
    [Theory]
    [InlineData(1)]
    [InlineData(4099)]
    [InlineData(1 << 20)]
    public void FmaReluMatchesCpu(int pairs)
    {
        int n = pairs * 2;
        Half[] a = TestData.RandomHalves(Rng, n, -2, 2), b = TestData.RandomHalves(Rng, n, -2, 2), c = TestData.RandomHalves(Rng, n, -2, 2);
        using var module = Jit.LoadShipped("elementwise_half2.cu");
        var kernel = module.GetKernel("fusion_fma_relu_half2");
        using CudaTensor da = Upload(a, n), db = Upload(b, n), dc = Upload(c, n), dout = CudaTensor.Empty(Device, DType.Float16, n);
        dout.FillBytes(0xFF); // NaN poison
        kernel.Launch(Device.DefaultStream, Math.Min(1024, (pairs + 255) / 256), 256, new KernelArguments().Pointer(da).Pointer(db).Pointer(dc).Pointer(dout).Int(pairs));
        var expected = new double[n];
        for (int i = 0; i < n; i++) expected[i] = Math.Max(0, (double)(Half)((double)a[i] * (double)b[i] + (double)c[i]));
        TestData.AssertClose(Download(dout), expected, TestData.HalfTiny, TestData.HalfUlp, "relu(a*b+c)");
    }

    [Fact]
    public void AxpyMatchesCpu()
    {
        const int pairs = 50_001, n = pairs * 2;
        Half[] a = TestData.RandomHalves(Rng, n), b = TestData.RandomHalves(Rng, n);
        float alpha = 0.5f + Rng.NextSingle();
        using var module = Jit.LoadShipped("elementwise_half2.cu");
        var kernel = module.GetKernel("fusion_axpy_half2");
        using CudaTensor da = Upload(a, n), db = Upload(b, n), dout = CudaTensor.Empty(Device, DType.Float16, n);
        dout.FillBytes(0xFF);
        kernel.Launch(Device.DefaultStream, 128, 256, new KernelArguments().Pointer(da).Pointer(db).Pointer(dout).Float(alpha).Int(pairs));
        var expected = new double[n];
        for (int i = 0; i < n; i++) expected[i] = (double)(Half)(alpha * (float)a[i] + (float)b[i]);
        TestData.AssertClose(Download(dout), expected, TestData.HalfTiny, TestData.HalfUlp, "alpha*a+b");
    }

    [Fact]
    public void BiasResidualMatchesCpu()
    {
        const int rows = 3 * 517, channels = 96, n = rows * channels;
        Half[] x = TestData.RandomHalves(Rng, n), r = TestData.RandomHalves(Rng, n), bias = TestData.RandomHalves(Rng, channels);
        using var kernel = new BiasResidualKernel(Jit);
        using CudaTensor dx = Upload(x, 3, 517, channels), dr = Upload(r, 3, 517, channels), db = Upload(bias, channels);
        using var dout = CudaTensor.Empty(Device, DType.Float16, dx.Shape);
        dout.FillBytes(0xFF);
        kernel.Run(dx, db, dr, dout);
        var expected = new double[n];
        for (int i = 0; i < n; i++) expected[i] = (double)(Half)((double)(Half)((double)x[i] + (double)bias[i % channels]) + (double)r[i]);
        TestData.AssertClose(Download(dout), expected, TestData.HalfTiny, TestData.HalfUlp, "(x+bias)+residual");
    }

    [Fact]
    public void BiasResidualRejectsChannelsNotMultipleOf8()
    {
        using var kernel = new BiasResidualKernel(Jit);
        using CudaTensor x = CudaTensor.Empty(Device, DType.Float16, 4, 12), b = CudaTensor.Empty(Device, DType.Float16, 12);
        var e = Assert.Throws<TensorMismatchException>(() => kernel.Run(x, b, x, x));
        Assert.Equal("x", e.What);
    }
}
