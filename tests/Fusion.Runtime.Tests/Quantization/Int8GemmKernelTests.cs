using Fusion.Compiler;
using Fusion.Cuda.Gemm;
using Fusion.Kernels.Cpu;

namespace Fusion.Runtime.Tests.Quantization;

/// <summary>
/// The int8 GEMM kernel without a GPU: what <see cref="GemmKernels.LinearInt8"/> builds (the template's int8 variant, its epilogue
/// reading the float32 scale first), the int8 row stride and weight padding, the refusals of <see cref="GemmKernel"/>'s constructor
/// (a cuBLASLt epilogue, an ILGPU version, a wrong KW, too deep a K) and of the operand checks, and the fast-run record of a GEMM
/// cuBLASLt did not take part in.
/// </summary>
public sealed class Int8GemmKernelTests
{
    [Theory]
    [InlineData(384, 96, true, Activation.Gelu, false, DType.Float16)]
    [InlineData(37, 13, false, Activation.None, true, DType.Float32)]
    [InlineData(30, 40, true, Activation.Relu, true, DType.Float16)]
    public void LinearInt8IsTheTemplatesInt8VariantWithTheScaleFirst(int n, int k, bool bias, Activation activation, bool residual, DType dtype)
    {
        var kernel = GemmKernels.LinearInt8(n, k, bias, activation, residual, dtype);
        Assert.True(kernel.Int8);
        Assert.Null(kernel.Cublas);
        Assert.Null(kernel.IlgpuKernels);
        Assert.Equal((n, k, (k + 15) / 16 * 16), (kernel.N, kernel.K, kernel.KW));
        Assert.Contains("#define FUSION_GEMM_S8 1\n", kernel.CudaSource, StringComparison.Ordinal);
        Assert.Contains($"#define FUSION_KW {kernel.KW}\n", kernel.CudaSource, StringComparison.Ordinal);
        var inputs = kernel.Epilogue.Ir.Inputs.Where(b => b.Role != BufferRole.Accumulator).ToList();
        var type = dtype == DType.Float16 ? FloatType.F16 : FloatType.F32;
        Assert.Equal(1 + (bias ? 1 : 0) + (residual ? 1 : 0), inputs.Count);
        Assert.Equal(FloatType.F32, inputs[0].Type); // the dequantize scale sₓ·s_w[j]: float32 [N]
        Assert.Single(inputs[0].Shape);
        Assert.All(inputs.Skip(1), b => Assert.Equal(type, b.Type));
        Assert.Equal(type, Assert.Single(kernel.Epilogue.Ir.Outputs).Type);
        // The fp16 kernel of the same layer is unchanged: no int8 define, KW a multiple of 8.
        var fp16 = GemmKernels.Linear(n, k, bias, activation, residual, dtype);
        Assert.False(fp16.Int8);
        Assert.DoesNotContain("#define FUSION_GEMM_S8 1", fp16.CudaSource, StringComparison.Ordinal);
        Assert.Equal((k + 7) / 8 * 8, fp16.KW);
    }

    [Theory]
    [InlineData(1, 8, 16)]
    [InlineData(13, 16, 16)]
    [InlineData(16, 16, 16)]
    [InlineData(17, 24, 32)]
    [InlineData(40, 40, 48)]
    [InlineData(2051, 2056, 2064)]
    public void RowStrideIsSixteenBytes(int k, int halves, int int8)
    {
        Assert.Equal(halves, GemmRows.Stride(k));
        Assert.Equal(int8, GemmRows.Stride(k, int8: true));
        Assert.Equal(int8, GemmWeights.RowStride(k, int8: true));
        Assert.Equal(int8, GemmSource.Constants(5, k, int8: true)["KW"]);
        Assert.Equal(1, GemmSource.Constants(5, k, int8: true)["GEMM_S8"]);
        Assert.False(GemmSource.Constants(5, k).ContainsKey("GEMM_S8"));
    }

    [Fact]
    public void AnInt8WeightIsPaddedToSixteenColumns()
    {
        using var weight = CpuTensor.Zeros(DType.Int8, 5, 13);
        var values = weight.Span<sbyte>();
        for (int i = 0; i < values.Length; i++) values[i] = (sbyte)(i % 255 - 127);
        var padded = GemmWeights.PadColumns(weight);
        using var tensor = padded.Tensor;
        Assert.Equal((5, 13, 5, 16, DType.Int8), (padded.Rows, padded.Columns, padded.PaddedRows, padded.PaddedColumns, tensor.DType));
        var span = tensor.Span<sbyte>();
        for (int r = 0; r < 5; r++)
            for (int c = 0; c < 16; c++)
                Assert.Equal(c < 13 ? values[r * 13 + c] : (sbyte)0, span[r * 16 + c]);
        using var floats = CpuTensor.Zeros(DType.Float32, 3, 5);
        Assert.Throws<TensorMismatchException>(() => GemmWeights.PadColumns(floats));
    }

    [Fact]
    public void TheConstructorRefusesWhatAnInt8KernelCannotHave()
    {
        var kernel = GemmKernels.LinearInt8(40, 36, bias: true, Activation.None, residual: false);
        GemmKernel Make(int kw, CublasEpilogue? cublas = null, Type? ilgpu = null, int k = 36) =>
            new(kernel.Name, 40, k, kw, kernel.CudaSource, kernel.Epilogue, cublas, ilgpu, int8: true);
        Assert.True(Make(48).Int8);
        var cublas = Assert.Throws<FusionException>(() => Make(48, new CublasEpilogue(Activation.None, 0, -1)));
        Assert.Contains(kernel.Name, cublas.Message);
        Assert.Contains("cuBLASLt", cublas.Message);
        Assert.NotNull(Make(48, ilgpu: typeof(Int8GemmKernelTests)).IlgpuKernels); // the template's int8 form has an ILGPU version
        var stride = Assert.Throws<FusionException>(() => Make(40)); // fp16's KW for K = 36
        Assert.Contains("multiple of 16", stride.Message);
        int deep = Int8Gemm.MaxDepth + 1;
        var depth = Assert.Throws<FusionException>(() => Make(GemmRows.Stride(deep, int8: true), k: deep));
        Assert.Contains("overflow", depth.Message);
    }

    /// <summary>The operand check every backend runs: an int8 kernel takes int8 x and weight, an fp16 one float operands; the message names the kernel and the dtype given.</summary>
    [Fact]
    public void OperandsOfTheOtherKindAreRefusedByName()
    {
        var int8 = GemmKernels.LinearInt8(8, 16, bias: false, Activation.None, residual: false, DType.Float32);
        using var scale = CpuTensor.Zeros(DType.Float32, 8);
        using var halves = CpuTensor.Zeros(DType.Float16, 3, 16);
        using var codes = CpuTensor.Zeros(DType.Int8, 3, 16);
        using var weight = CpuTensor.Zeros(DType.Int8, 8, 16);
        var e = Assert.Throws<TensorMismatchException>(() => CpuBackend.Instance.Gemm(int8, 3, DType.Float32, halves, weight, scale));
        Assert.Equal($"{int8.Name} x", e.What);
        Assert.Contains("int8", e.Expected);
        Assert.Contains("f16", e.Actual);
        var fp16 = GemmKernels.Linear(8, 16, bias: false, Activation.None, residual: false);
        var f = Assert.Throws<TensorMismatchException>(() => CpuBackend.Instance.Gemm(fp16, 3, DType.Float16, codes, weight));
        Assert.Contains(fp16.Name, f.Message);
        Assert.Contains("i8", f.Actual);
    }

    /// <summary>An int8 GEMM's fast-run choice records cuBLASLt as not timed ("n/a"), and reads back as infinite.</summary>
    [Fact]
    public void AChoiceWithoutCublasLtRoundTrips()
    {
        var choice = new GemmChoice(GemmPath.Generated, new GemmTile(64, 96), 7.25, double.PositiveInfinity);
        var text = GemmChoiceCache.Format("k", choice);
        Assert.Contains("cublaslt_us n/a\n", text);
        Assert.Equal(choice, GemmChoiceCache.Parse(text, "k", out _));
        Assert.Null(GemmChoiceCache.Parse(text.Replace("cublaslt_us n/a", "cublaslt_us none"), "k", out var problem));
        Assert.Contains("unreadable", problem);
    }
}
