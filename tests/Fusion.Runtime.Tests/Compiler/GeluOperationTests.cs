using Fusion.Compiler;
using Fusion.Kernels.Cpu;
using Fusion.Testing;

namespace Fusion.Runtime.Tests.Compiler;

/// <summary>
/// The loop IR's one Gelu operation (GELU by erf): every scalar operation has a CUDA and an ILGPU spelling and a CPU value, and
/// the Gelu's three CPU-run forms — the interpreter's row (VectorMath.Gelu), its element path (ScalarMath) and ILGPU's twin
/// (KernelMath.Gelu, its constants folded as the CUDA prelude's fusion_gelu_erf) — against GELU with erf in double on fresh
/// random inputs over [−10, 10] and near zero. Tolerances: the CPU's erf is within 1e-7 of exact, so its GELU within
/// ½·|x|·1e-7 + 2 float32 ulps of the result; ILGPU's twin is Abramowitz &amp; Stegun 7.1.26 (erf within 1.5e-7) evaluated in
/// float32, whose polynomial and 1 − poly·e^(−x²/2) near 1 add up to a few 1e-7 (5.2e-7 seen), so within ½·|x|·6e-7 + 4 ulps.
/// </summary>
public class GeluOperationTests
{
    [Fact]
    public void EveryScalarOperationIsSpelledForBothPrintersAndEvaluatedOnTheCpu()
    {
        foreach (var op in Enum.GetValues<ScalarOp>())
        {
            var operands = new[] { "a", "b", "c" }.Take(ScalarOps.Arity(op)).ToArray();
            Assert.False(string.IsNullOrEmpty(CudaKernelPrinter.Expression(op, operands)), $"{op}: no CUDA spelling");
            Assert.False(string.IsNullOrEmpty(IlgpuKernelPrinter.Expression(op, operands)), $"{op}: no ILGPU spelling");
            _ = ScalarMath.Apply(op, 0.25f, 0.5f, 0.75f); // throws for an operation without a CPU value
            Assert.True(ScalarOps.TryParse(ScalarOps.Name(op), out var parsed) && parsed == op, $"{op}: its IR name does not parse back");
        }
        Assert.Equal("fusion_gelu_op(v)", CudaKernelPrinter.Expression(ScalarOp.Gelu, ["v"]));
    }

    [Fact]
    public void EachCpuFormIsGeluWithinItsErfsError()
    {
        int seed = TestData.NewSeed();
        var random = new Random(seed);
        const int n = 4099; // whole vectors and a tail
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = i % 5 == 0 ? (float)((random.NextDouble() - 0.5) * 1e-3) : (float)(random.NextDouble() * 20 - 10);
        var row = new float[n];
        VectorMath.Gelu(x, row);
        for (int i = 0; i < n; i++)
        {
            double v = x[i], exact = 0.5 * v * (1 + Ref.Erf(v / Math.Sqrt(2)));
            Near(row[i], exact, v, 1e-7, 2, $"row form, seed {seed}");
            Near(ScalarMath.Apply(ScalarOp.Gelu, x[i], 0, 0), exact, v, 1e-7, 2, $"element form, seed {seed}");
            Near(Fusion.Ilgpu.KernelMath.Gelu(x[i]), exact, v, 6e-7, 4, $"ILGPU twin, seed {seed}");
        }
        var special = new float[2];
        VectorMath.Gelu([float.NaN, -20f], special);
        Assert.True(float.IsNaN(special[0]) && float.IsNaN(Fusion.Ilgpu.KernelMath.Gelu(float.NaN)), "GELU(NaN) is not NaN");
        // Far below zero 1 + erf is +0 and GELU −0 (PyTorch's too): an fp16 or FP8 store keeps the sign, so every form must.
        foreach (var (form, value) in new[] { ("row", special[1]), ("element", ScalarMath.Apply(ScalarOp.Gelu, -20f, 0, 0)), ("ILGPU twin", Fusion.Ilgpu.KernelMath.Gelu(-20f)) })
            Assert.True(value == 0 && float.IsNegative(value), $"{form} form: GELU(−20) = {value:R}, not −0");
    }

    /// <summary>
    /// The GeluTanh operation's CPU forms (the interpreter's row, its element path, ILGPU's twin: all x·σ(2u) in float32) against
    /// ½x·(1 + tanh u) in double. Their error is u's rounding (a few ulps of u, carried by σ' ≤ ½ into x·σ) and exp's and the
    /// division's last bits: within |x|·(1 + |u|)·3e-7 + 2 ulps of the result. −0 far below zero, NaN kept.
    /// </summary>
    [Fact]
    public void EachCpuFormOfTheTanhFormIsItWithinFloatError()
    {
        int seed = TestData.NewSeed();
        var random = new Random(seed);
        const int n = 1031; // whole vectors, a tail, and more than one of the row form's 256-element chunks
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = i % 7 == 0 ? (float)((random.NextDouble() - 0.5) * 1e-3) : (float)(random.NextDouble() * 24 - 12);
        var row = new float[n];
        VectorMath.GeluTanh(x, row);
        var inPlace = (float[])x.Clone();
        VectorMath.GeluTanh(inPlace, inPlace);
        Assert.Equal(row, inPlace); // the interpreter runs rows in place
        for (int i = 0; i < n; i++)
        {
            double v = x[i], u = Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v), exact = 0.5 * v * (1 + Math.Tanh(u));
            Assert.Equal(exact, Ops.GeluTanh.Apply([v], AttributeSet.Empty), 12);
            double bound = Math.Abs(v) * (1 + Math.Abs(u)) * 3e-7 + 2 * Tolerance.Ulp((float)exact);
            foreach (var (form, got) in new[] { ("row", row[i]), ("element", ScalarMath.Apply(ScalarOp.GeluTanh, x[i], 0, 0)), ("ILGPU twin", Fusion.Ilgpu.KernelMath.GeluTanh(x[i])) })
                Assert.True(Math.Abs(got - exact) <= bound, $"{form} form, seed {seed}: GELU-tanh({v:R}) = {got:R}, exact {exact:R}, off by {Math.Abs(got - exact):E3} > {bound:E3}");
        }
        var special = new float[2];
        VectorMath.GeluTanh([float.NaN, -20f], special);
        Assert.True(float.IsNaN(special[0]) && float.IsNaN(Fusion.Ilgpu.KernelMath.GeluTanh(float.NaN)), "GELU-tanh(NaN) is not NaN");
        foreach (var (form, value) in new[] { ("row", special[1]), ("element", ScalarMath.Apply(ScalarOp.GeluTanh, -20f, 0, 0)), ("ILGPU twin", Fusion.Ilgpu.KernelMath.GeluTanh(-20f)) })
            Assert.True(value == 0 && float.IsNegative(value), $"{form} form: GELU-tanh(−20) = {value:R}, not −0");
        Assert.Equal("fusion_gelu_tanh_sigmoid(v)", CudaKernelPrinter.Expression(ScalarOp.GeluTanh, ["v"]));
    }

    private static void Near(float got, double exact, double x, double erfError, int ulps, string form)
    {
        double bound = 0.5 * Math.Abs(x) * erfError + ulps * Tolerance.Ulp((float)exact);
        Assert.True(Math.Abs(got - exact) <= bound, $"{form}: GELU({x:R}) = {got:R}, exact {exact:R}, off by {Math.Abs(got - exact):E3} > {bound:E3}");
    }
}
