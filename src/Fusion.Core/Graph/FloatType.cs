namespace Fusion.Compiler
{
    /// <summary>
    /// The type of a value in a precision plan: float32, float16, the model's input/output type, which is known only at run
    /// time (the inputs' dtype; the output is returned in it), or int8 codes (a quantized GEMM operand: a store rounds half
    /// to even and saturates to ±127, a load gives the code as a float; the scale is applied by the ops around it).
    /// </summary>
    internal enum FloatType
    {
        Io,
        F32,
        F16,
        I8,
    }

    internal static class FloatTypes
    {
        /// <summary>"f32", "f16", "i8", "io" for reports and comments.</summary>
        public static string Short(this FloatType t) => t switch { FloatType.F32 => "f32", FloatType.F16 => "f16", FloatType.I8 => "i8", _ => "io" };

        /// <summary>The C# expression of the dtype in generated code (<c>io</c> is the run's input/output dtype).</summary>
        public static string ToCSharp(this FloatType t) => t switch
        {
            FloatType.F32 => "global::Fusion.DType.Float32",
            FloatType.F16 => "global::Fusion.DType.Float16",
            FloatType.I8 => "global::Fusion.DType.Int8",
            _ => "io",
        };
    }
}
