using Fusion.Quantization;

namespace Fusion.Cuda.Tests;

/// <summary>
/// The FP8 Linear on the GPU (sm_89 and newer; skipped visibly below) against its CPU reference: the quantize bit for bit against
/// <see cref="Float8E4M3"/>, and the layer through cuBLASLt's FP8 product against <see cref="Fp8Linear"/>'s exact float64 value
/// of the same codes. Tolerance: |gpu − ref| ≤ 2e-3 + 2e-3·|ref|: the output is rounded to fp16 (2⁻¹¹ relative) and the float32
/// accumulation of k ≤ 768 exact products adds far less; the bias is given in fp16 values so its rounding is not in the gap.
/// </summary>
public sealed class Fp8LinearGpuTests : GpuTestBase
{
    private const double Atol = 2e-3, Rtol = 2e-3;

    private bool HasFp8 => Device.ComputeCapability >= 89;

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float16)]
    public void QuantizeEqualsCpu(DType dtype)
    {
        Assert.SkipUnless(HasFp8, $"FP8 needs sm_89 or newer; {Device.Name} is {Device.Architecture}");
        const int count = 9_001;
        float scale = 0.004f + (float)Rng.NextDouble() * 0.002f;
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (i % 4) switch
            {
                0 => (float)(Rng.NextDouble() * 4 - 2),                             // ordinary
                1 => (float)(Rng.NextDouble() * 6 - 3),                             // past ±448·scale: saturates
                2 => (float)Math.Pow(2, Rng.NextDouble() * 12 - 20) * (Rng.Next(2) * 2 - 1), // subnormal codes
                _ => (Float8E4M3.Decode((byte)Rng.Next(0, 0x7E)) + Float8E4M3.Decode((byte)Rng.Next(0, 0x7E))) / 2 * scale, // near midpoints
            };
            if (dtype == DType.Float16) values[i] = (float)(Half)values[i];
        }
        using var host = dtype == DType.Float16 ? CpuTensor.FromArray(values.Select(v => (Half)v).ToArray(), count) : CpuTensor.FromArray(values, count);
        using var kernels = new Fp8LinearKernels(Jit);
        using CudaTensor x = CudaTensor.FromHost(Device, host), q = CudaTensor.Empty(Device, DType.Float8E4M3, count);
        kernels.Quantize(x, scale, q);
        var expected = new byte[count];
        Float8E4M3.Quantize(values, 1 / scale, expected);
        using var result = q.ToHost();
        Assert.Equal(expected, result.Span<byte>().ToArray());
    }

    [Theory]
    [InlineData(77, 24, 48, MatmulEpilogue.Bias, DType.Float16)]
    [InlineData(1, 16, 16, MatmulEpilogue.Bias, DType.Float32)]
    [InlineData(301, 136, 768, MatmulEpilogue.ReluBias, DType.Float16)]
    [InlineData(33, 40, 64, MatmulEpilogue.None, DType.Float32)]
    public void LayerMatchesCpuReference(int m, int n, int k, MatmulEpilogue epilogue, DType io)
    {
        Assert.SkipUnless(HasFp8, $"FP8 needs sm_89 or newer; {Device.Name} is {Device.Architecture}");
        var x = new float[m * k];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(Rng.NextDouble() * 4 - 2);
        if (io == DType.Float16) for (int i = 0; i < x.Length; i++) x[i] = (float)(Half)x[i];
        var w = new float[n * k];
        for (int i = 0; i < w.Length; i++) w[i] = (float)(Rng.NextDouble() - 0.5) * 0.2f;
        float[] bias = epilogue == MatmulEpilogue.None ? [] : Enumerable.Range(0, n).Select(_ => (float)(Half)(float)(Rng.NextDouble() - 0.5)).ToArray();
        var weight = Fp8Weight.From(w, n, k);
        float inputScale = Float8E4M3.ScaleFor(2);
        var expected = new double[m * n];
        Fp8Linear.Run(x, m, inputScale, weight, bias, expected);
        if (epilogue == MatmulEpilogue.ReluBias) for (int i = 0; i < expected.Length; i++) expected[i] = Math.Max(0, expected[i]);

        using var kernels = new Fp8LinearKernels(Jit);
        using var lt = new CublasLt(Device);
        using var layer = new CudaFp8Linear(Device, weight, inputScale, bias);
        using var hostX = io == DType.Float16 ? CpuTensor.FromArray(x.Select(v => (Half)v).ToArray(), m, k) : CpuTensor.FromArray(x, m, k);
        using CudaTensor dx = CudaTensor.FromHost(Device, hostX), dy = CudaTensor.Empty(Device, DType.Float16, m, n);
        dy.FillBytes(0xFF);
        layer.Run(lt, kernels, dx, dy, epilogue);
        TestData.AssertClose(Download(dy), expected, Atol, Rtol, $"FP8 Linear {epilogue} M={m} N={n} K={k} x {io.ShortName()}");
    }

    [Fact]
    public void DepthNotAMultipleOf16IsRefusedByName()
    {
        Assert.SkipUnless(HasFp8, $"FP8 needs sm_89 or newer; {Device.Name} is {Device.Architecture}");
        using var lt = new CublasLt(Device);
        using CudaTensor a = CudaTensor.Empty(Device, DType.Float8E4M3, 3, 24), b = CudaTensor.Empty(Device, DType.Float8E4M3, 16, 24),
            s = CudaTensor.Empty(Device, DType.Float32, 1), y = CudaTensor.Empty(Device, DType.Float16, 3, 16);
        var e = Assert.Throws<TensorMismatchException>(() => lt.LinearFp8(a, b, s, s, null, y, MatmulEpilogue.None));
        Assert.Contains("multiple of 16", e.Message);
    }
}
