using Fusion.Testing;

namespace Fusion.Runtime.Tests;

/// <summary>Runs a CPU operator on reference inputs and compares with the float64 reference at a dtype's tolerance.</summary>
internal static class Precision
{
    /// <summary>
    /// Float16 tolerance: inputs are exactly representable in f16 and the math runs in f32, so the
    /// error is dominated by the single rounding on store, half an f16 ulp = 2⁻¹¹ ≈ 4.9e-4 relative;
    /// 1e-3 relative (plus 1e-3 absolute for results near zero, whose f32 accumulation error is
    /// not scaled down by |b|) leaves a 2× margin and still catches any indexing error (O(1) errors).
    /// </summary>
    public const double Half = 1e-3;

    /// <summary>Inputs for <paramref name="dtype"/>: random values in [−1, 1) that the dtype holds exactly.</summary>
    public static RefTensor Input(int seed, DType dtype, params int[] shape) => TestData.Random(seed, dtype, shape);

    /// <summary>
    /// Converts the inputs to CPU tensors of <paramref name="dtype"/>, runs <paramref name="op"/>, and
    /// asserts its result is within (atol, rtol) for f32 or <see cref="Half"/> for f16; disposes everything.
    /// </summary>
    public static void Check(DType dtype, RefTensor expected, double atol, double rtol, string what, Func<Tensor[], Tensor> op, params RefTensor[] inputs)
    {
        bool half = dtype == DType.Float16;
        Compare(dtype, expected, half ? Half : atol, half ? Half : rtol, what, op, inputs);
    }

    /// <summary>For pure data movement: the result must equal the reference exactly, in either dtype.</summary>
    public static void CheckExact(DType dtype, RefTensor expected, string what, Func<Tensor[], Tensor> op, params RefTensor[] inputs) =>
        Compare(dtype, expected, 0, 0, what, op, inputs);

    private static void Compare(DType dtype, RefTensor expected, double atol, double rtol, string what, Func<Tensor[], Tensor> op, RefTensor[] inputs)
    {
        var tensors = inputs.Select(i => (Tensor)i.ToCpu(dtype)).ToArray();
        try
        {
            using var result = op(tensors);
            Assert.Equal(dtype, result.DType);
            Tolerance.AssertClose(result, expected, atol, rtol, $"{what} {dtype.ShortName()}");
        }
        finally
        {
            foreach (var t in tensors) t.Dispose();
        }
    }
}
