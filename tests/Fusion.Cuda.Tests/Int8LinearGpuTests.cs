using Fusion.Kernels.Cpu;
using Fusion.Quantization;

namespace Fusion.Cuda.Tests;

/// <summary>
/// The int8 Linear on the GPU against its CPU reference, bit for bit: cuBLASLt's int8 product against the exact integer GEMM
/// (<see cref="Int8Gemm"/>: sums are exact, so equal), the quantize against <see cref="Int8Quantizer"/> (same float multiply and
/// rounding), and the whole layer against <see cref="Int8Linear"/> (float32 outputs equal; f16 outputs that value rounded once).
/// Fresh random operands each run, odd M, N and K multiples of 4 (cuBLASLt's int8 condition) including a deep K.
/// </summary>
public sealed class Int8LinearGpuTests : GpuTestBase
{
    public static TheoryData<int, int, int> Shapes() => new()
    {
        { 1, 8, 4 },
        { 77, 36, 52 },
        { 301, 132, 96 },
        { 64, 96, 3072 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ProductEqualsExactIntegerGemm(int m, int n, int k)
    {
        sbyte[] a = RandomInt8(m * k), b = RandomInt8(n * k);
        using var lt = new CublasLt(Device);
        using CudaTensor da = UploadInt8(a, m, k), db = UploadInt8(b, n, k), dc = CudaTensor.Empty(Device, DType.Int32, m, n);
        dc.FillBytes(0xFF);
        lt.LinearInt8(da, db, dc);
        var expected = new int[m * n];
        Int8Gemm.MultiplyTransposed(a, b, expected, m, n, k);
        using var host = dc.ToHost();
        Assert.Equal(expected, host.Span<int>().ToArray());
    }

    [Fact]
    public void ProductTakesLeadingDims()
    {
        const int n = 24, k = 36;
        sbyte[] a = RandomInt8(2 * 5 * k), b = RandomInt8(n * k);
        using var lt = new CublasLt(Device);
        using var host = CpuTensor.Zeros(DType.Int8, 2, 5, k);
        a.CopyTo(host.Span<sbyte>());
        using CudaTensor da = CudaTensor.FromHost(Device, host), db = UploadInt8(b, n, k), dc = CudaTensor.Empty(Device, DType.Int32, 2, 5, n);
        lt.LinearInt8(da, db, dc);
        var expected = new int[10 * n];
        Int8Gemm.MultiplyTransposed(a, b, expected, 10, n, k);
        using var result = dc.ToHost();
        Assert.Equal(expected, result.Span<int>().ToArray());
    }

    [Fact]
    public void SizesNotMultiplesOfFourAreRefusedByName()
    {
        using var lt = new CublasLt(Device);
        using CudaTensor a = CudaTensor.Empty(Device, DType.Int8, 3, 6), b = CudaTensor.Empty(Device, DType.Int8, 8, 6), c = CudaTensor.Empty(Device, DType.Int32, 3, 8);
        var e = Assert.Throws<TensorMismatchException>(() => lt.LinearInt8(a, b, c));
        Assert.Contains("weight", e.Message);
        Assert.Contains("multiples of 4", e.Message);
        using CudaTensor a2 = CudaTensor.Empty(Device, DType.Int8, 3, 8), b2 = CudaTensor.Empty(Device, DType.Int8, 5, 8), c2 = CudaTensor.Empty(Device, DType.Int32, 3, 5);
        Assert.Contains("multiples of 4", Assert.Throws<TensorMismatchException>(() => lt.LinearInt8(a2, b2, c2)).Message);
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float16)]
    public void QuantizeEqualsCpu(DType dtype)
    {
        const int count = 10_007;
        float scale = 0.013f + (float)Rng.NextDouble() * 0.01f;
        // Values past ±127 scales (clamped), exact half-steps (ties to even) and ordinary ones.
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (i % 3) switch
            {
                0 => (float)(Rng.NextDouble() * 4 - 2),
                1 => (Rng.Next(-300, 300) + 0.5f) * scale,
                _ => (float)(Rng.NextDouble() * 400 - 200) * scale,
            };
            if (dtype == DType.Float16) values[i] = (float)(Half)values[i];
        }
        using var host = dtype == DType.Float16 ? CpuTensor.FromArray(values.Select(v => (Half)v).ToArray(), count) : CpuTensor.FromArray(values, count);
        using var kernels = new Int8LinearKernels(Jit);
        using CudaTensor x = CudaTensor.FromHost(Device, host), q = CudaTensor.Empty(Device, DType.Int8, count);
        kernels.Quantize(x, scale, q);
        var expected = new sbyte[count];
        Int8Quantizer.Quantize(values, scale, expected);
        using var result = q.ToHost();
        Assert.Equal(expected, result.Span<sbyte>().ToArray());
        Assert.DoesNotContain((sbyte)-128, result.Span<sbyte>().ToArray());
    }

    [Theory]
    [InlineData(77, 36, 52, DType.Float32, true)]
    [InlineData(77, 36, 52, DType.Float16, true)]
    [InlineData(5, 20, 768, DType.Float32, false)]
    [InlineData(131, 4, 8, DType.Float16, false)]
    public void LayerEqualsCpuReference(int m, int n, int k, DType io, bool withBias)
    {
        var x = new float[m * k];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(Rng.NextDouble() * 6 - 3);
        if (io == DType.Float16) for (int i = 0; i < x.Length; i++) x[i] = (float)(Half)x[i];
        var w = new float[n * k];
        for (int i = 0; i < w.Length; i++) w[i] = (float)(Rng.NextDouble() - 0.5) * 0.2f;
        float[] bias = withBias ? Enumerable.Range(0, n).Select(_ => (float)(Rng.NextDouble() - 0.5)).ToArray() : [];
        var weight = QuantizedWeight.From(w, n, k);
        float inputScale = Int8Quantizer.ScaleFor(2.5); // clips the tails of x's ±3
        var expected = new float[m * n];
        Int8Linear.Run(x, m, inputScale, weight, bias, expected);

        using var kernels = new Int8LinearKernels(Jit);
        using var lt = new CublasLt(Device);
        using var layer = new CudaInt8Linear(Device, weight, inputScale, bias);
        using var hostX = io == DType.Float16 ? CpuTensor.FromArray(x.Select(v => (Half)v).ToArray(), m, k) : CpuTensor.FromArray(x, m, k);
        using CudaTensor dx = CudaTensor.FromHost(Device, hostX), dy = CudaTensor.Empty(Device, io, m, n);
        layer.Run(lt, kernels, dx, dy);
        var actual = Download(dy);
        var wanted = io == DType.Float16 ? expected.Select(v => (float)(Half)v).ToArray() : expected;
        Assert.Equal(wanted, actual);
    }

    private sbyte[] RandomInt8(int count)
    {
        var values = new sbyte[count];
        for (int i = 0; i < count; i++) values[i] = (sbyte)Rng.Next(-127, 128);
        return values;
    }

    private CudaTensor UploadInt8(sbyte[] values, int rows, int columns)
    {
        using var host = CpuTensor.Zeros(DType.Int8, rows, columns);
        values.CopyTo(host.Span<sbyte>());
        return CudaTensor.FromHost(Device, host);
    }
}
