using Fusion.Compiler;

namespace Fusion;

/// <summary>The scalar operations of the loop IR in float32 (the interpreter's element-by-element path).</summary>
internal static class ScalarMath
{
    /// <summary>The int8 code of a float: half to even, clamped to ±127, NaN to 0 (the kernels' int8 stores and casts).</summary>
    public static float RoundI8(float a) => float.IsNaN(a) ? 0f : Math.Clamp(MathF.Round(a, MidpointRounding.ToEven), -127f, 127f);

    /// <summary>The nearest FP8 E4M3 value of a float: ties to even, saturated to ±448, NaN stays NaN (the kernels' f8 stores and casts).</summary>
    public static float RoundF8(float a) => Fusion.Quantization.Float8E4M3.Decode(Fusion.Quantization.Float8E4M3.Encode(a));

    public static float Apply(ScalarOp op, float a, float b, float c) => op switch
    {
        ScalarOp.Add => a + b,
        ScalarOp.Sub => a - b,
        ScalarOp.Mul => a * b,
        ScalarOp.Div => a / b,
        ScalarOp.Max => MathF.Max(a, b),
        ScalarOp.Min => MathF.Min(a, b),
        ScalarOp.Pow => MathF.Pow(a, b),
        ScalarOp.Lt => a < b ? 1f : 0f,
        ScalarOp.Le => a <= b ? 1f : 0f,
        ScalarOp.Gt => a > b ? 1f : 0f,
        ScalarOp.Ge => a >= b ? 1f : 0f,
        ScalarOp.Eq => a == b ? 1f : 0f,
        ScalarOp.Ne => a != b ? 1f : 0f,
        ScalarOp.Neg => -a,
        ScalarOp.Abs => MathF.Abs(a),
        ScalarOp.Exp => MathF.Exp(a),
        ScalarOp.Log => MathF.Log(a),
        ScalarOp.Sqrt => MathF.Sqrt(a),
        ScalarOp.Rsqrt => 1f / MathF.Sqrt(a),
        ScalarOp.Tanh => MathF.Tanh(a),
        ScalarOp.Erf => (float)Fusion.Kernels.Cpu.Gelu.Erf(a),
        ScalarOp.Gelu => a * 0.5f * ((float)Fusion.Kernels.Cpu.Gelu.Erf(a * 0.70710678118654752f) + 1f),
        ScalarOp.GeluTanh => Fusion.Kernels.Cpu.VectorMath.GeluTanh(a),
        ScalarOp.Recip => 1f / a,
        ScalarOp.RoundF16 => (float)(Half)a,
        ScalarOp.RoundI8 => RoundI8(a),
        ScalarOp.RoundF8 => RoundF8(a),
        ScalarOp.Where => a != 0 ? b : c,
        _ => throw new InvalidOperationException($"no CPU evaluation of {op}"),
    };
}
