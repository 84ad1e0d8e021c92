namespace Fusion.Compiler
{
    /// <summary>
    /// The type of a value in a precision plan: float32, float16, the model's input/output type, which is known only at run
    /// time (the inputs' dtype; the output is returned in it), int8 codes (a quantized GEMM operand: a store rounds half
    /// to even and saturates to ±127, a load gives the code as a float; the scale is applied by the ops around it), or FP8 E4M3
    /// codes (the Fp8 plan's GEMM operands: a store rounds to nearest even and saturates to ±448, a load decodes exactly).
    /// </summary>
    internal enum FloatType
    {
        Io,
        F32,
        F16,
        I8,
        F8,
    }

    internal static class FloatTypes
    {
        /// <summary>"f32", "f16", "i8", "f8", "io" for reports and comments.</summary>
        public static string Short(this FloatType t) => t switch { FloatType.F32 => "f32", FloatType.F16 => "f16", FloatType.I8 => "i8", FloatType.F8 => "f8", _ => "io" };

        /// <summary>Whether values of this type are quantized codes (int8 or FP8), read by a quantized GEMM.</summary>
        public static bool IsCode(this FloatType t) => t is FloatType.I8 or FloatType.F8;

        /// <summary>The C# expression of the dtype in generated code (<c>io</c> is the run's input/output dtype).</summary>
        public static string ToCSharp(this FloatType t) => t switch
        {
            FloatType.F32 => "global::Fusion.DType.Float32",
            FloatType.F16 => "global::Fusion.DType.Float16",
            FloatType.I8 => "global::Fusion.DType.Int8",
            FloatType.F8 => "global::Fusion.DType.Float8E4M3",
            _ => "io",
        };
    }
}
