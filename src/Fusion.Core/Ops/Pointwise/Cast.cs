namespace Fusion.Compiler
{
    internal static partial class Ops
    {
        public static readonly CastOp Cast = new();
    }

    /// <summary>
    /// A float type conversion, inserted by the precision pass where a reader needs another type (attribute "to", a
    /// <see cref="FloatType"/>). Inside a generated kernel values are float32 in registers: a cast to f16 rounds there (so a fused
    /// plan rounds where its unfused form would: an f32 input entering an f16 plan), a cast to f32 or to the run's type is free
    /// (a store rounds to its buffer's type anyway). A cast to i8 rounds the value to an int8 code (the precision pass scales it
    /// first: a quantize is x · (1/scale) then this cast); a cast to f8 rounds it to the nearest FP8 E4M3 value.
    /// </summary>
    internal sealed class CastOp() : PointwiseOp("Cast", "conversion to another float type (inserted by the precision pass)", "x")
    {
        public override bool Supports(BackendKind backend, FloatType type) => true;

        public override Val Build(IScalarBuilder b, Val[] x, AttributeSet attributes) => Target(attributes) switch
        {
            FloatType.F16 => b.Op(ScalarOp.RoundF16, x[0]),
            FloatType.I8 => b.Op(ScalarOp.RoundI8, x[0]),
            FloatType.F8 => b.Op(ScalarOp.RoundF8, x[0]),
            _ => x[0],
        };

        public override double Apply(double[] x, AttributeSet attributes) => Target(attributes) switch
        {
            FloatType.F16 => SpecialFunctions.RoundToHalf(x[0]),
            FloatType.I8 => SpecialFunctions.RoundToInt8(x[0]),
            FloatType.F8 => SpecialFunctions.RoundToE4M3(x[0]),
            _ => x[0],
        };

        public static FloatType Target(AttributeSet attributes) => (FloatType)attributes.Int("to");
    }
}
