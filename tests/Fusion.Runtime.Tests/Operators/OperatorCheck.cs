using Fusion.Compiler;
using Fusion.Testing;

namespace Fusion.Runtime.Tests.Operators;

/// <summary>
/// Runs an <c>F</c> operator eagerly (CPU backend) on inputs rounded to a dtype and compares with a float64 reference computed
/// from the same rounded values, usually the operator's own descriptor reference.
/// </summary>
/// <remarks>
/// Tolerances. Float32: a single elementwise function is one or two roundings (6e-8 relative each) plus the float32 library's
/// error (MathF and TensorPrimitives exp, log, tanh, pow: a few ulp; the GELU kernel's erf: 1e-7 absolute), so
/// <see cref="Map"/> = 1e-6 + 1e-6·|b| (about 8 ulp, and 1e-6 absolute for results near 0); reductions and normalizations add
/// the rounding of float32 sums of up to a few thousand terms, so <see cref="Reduction"/> = 1e-5 + 1e-5·|b|. Float16: inputs
/// are exact in f16 and every kernel computes in float32 and rounds once on store, so the error is half an f16 ulp,
/// 2⁻¹¹ ≈ 4.9e-4 relative (for normal results; below 2⁻¹⁴ it is 2⁻²⁵ absolute), plus the float32 error above:
/// <see cref="Precision.Half"/> = 1e-3 + 1e-3·|b| leaves a 2× margin, which an indexing error (O(1)) never meets.
/// </remarks>
internal static class OperatorCheck
{
    public const double Map = 1e-6;

    public const double Reduction = 1e-5;

    public static TheoryData<DType> DTypes => new() { DType.Float32, DType.Float16 };

    public static TheoryData<DType, int> DTypesAndBatches => new()
    {
        { DType.Float32, 1 },
        { DType.Float32, 3 },
        { DType.Float16, 1 },
        { DType.Float16, 3 },
    };

    /// <summary>The descriptor's float64 reference on reference tensors.</summary>
    public static RefTensor Reference(OpDescriptor op, AttributeSet attributes, params RefTensor[] inputs)
    {
        var result = ToTensor(op.Reference(inputs.Select(ToArray).ToList(), attributes));
        result.Seed = inputs.Select(i => i.Seed).FirstOrDefault(s => s is not null);
        return result;
    }

    /// <summary>
    /// Rounds <paramref name="inputs"/> to <paramref name="dtype"/>, runs <paramref name="run"/> on them as CPU tensors and
    /// asserts the result has that dtype and is within the tolerance (<paramref name="f32Tolerance"/> absolute and relative for
    /// float32, <see cref="Precision.Half"/> for float16) of <paramref name="expected"/> of the rounded inputs.
    /// </summary>
    public static void Check(DType dtype, string what, Func<Tensor[], Tensor> run, Func<RefTensor[], RefTensor> expected, double f32Tolerance,
        params RefTensor[] inputs)
    {
        var rounded = inputs.Select(i => i.RoundedTo(dtype)).ToArray();
        double tolerance = dtype == DType.Float16 ? Precision.Half : f32Tolerance;
        Compare(dtype, what, run, expected(rounded), tolerance, rounded);
    }

    /// <summary>For data movement: the result must equal the reference exactly.</summary>
    public static void CheckExact(DType dtype, string what, Func<Tensor[], Tensor> run, Func<RefTensor[], RefTensor> expected, params RefTensor[] inputs)
    {
        var rounded = inputs.Select(i => i.RoundedTo(dtype)).ToArray();
        Compare(dtype, what, run, expected(rounded), 0, rounded);
    }

    /// <summary>Random values in [<paramref name="low"/>, <paramref name="high"/>) with random signs when <paramref name="signed"/>.</summary>
    public static RefTensor Magnitudes(int seed, double low, double high, bool signed, params int[] shape)
    {
        var t = TestData.Uniform(seed, low, high, shape);
        if (!signed) return t;
        var signs = new Random(seed ^ 0x5bd1e995);
        for (int i = 0; i < t.Count; i++)
            if (signs.Next(2) == 0) t.Data[i] = -t.Data[i];
        return t;
    }

    /// <summary>0/1 values, about half set, so a select or fill takes both sides.</summary>
    public static RefTensor Mask(int seed, params int[] shape)
    {
        var t = TestData.Random(seed, shape);
        for (int i = 0; i < t.Count; i++) t.Data[i] = t.Data[i] > 0 ? 1 : 0;
        return t;
    }

    /// <summary>
    /// Loads random values in [<paramref name="low"/>, <paramref name="high"/>) that float16 holds exactly into a parameter (so the
    /// f16 copy a half-precision call uses equals the f32 master copy) and returns them.
    /// </summary>
    public static RefTensor LoadHalfExact(Parameter parameter, int seed, double low = -1, double high = 1)
    {
        var values = TestData.Uniform(seed, low, high, parameter.Shape.ToArray()).RoundedTo(DType.Float16);
        parameter.Load(values.Data.Select(v => (float)v).ToArray());
        return values;
    }

    /// <summary>f applied to every element (a reference written as a plain formula).</summary>
    public static RefTensor Elementwise(RefTensor x, Func<double, double> f)
    {
        var y = RefTensor.Derived(x.Shape, x);
        for (int i = 0; i < x.Count; i++) y.Data[i] = f(x.Data[i]);
        return y;
    }

    public static RefArray ToArray(RefTensor t) => new(t.Shape.Select(d => (long)d).ToArray(), (double[])t.Data.Clone());

    public static RefTensor ToTensor(RefArray a) => new(a.Shape.Select(d => checked((int)d)).ToArray(), a.Data);

    private static void Compare(DType dtype, string what, Func<Tensor[], Tensor> run, RefTensor expected, double tolerance, RefTensor[] inputs)
    {
        var tensors = inputs.Select(i => (Tensor)i.ToCpu(dtype)).ToArray();
        try
        {
            using var result = run(tensors);
            Assert.Equal(dtype, result.DType);
            Tolerance.AssertClose(result, expected, tolerance, tolerance, $"{what} {dtype.ShortName()}");
        }
        finally
        {
            foreach (var t in tensors) t.Dispose();
        }
    }
}
