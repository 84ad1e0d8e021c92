namespace Fusion.Generator.Ir
{
    /// <summary>
    /// One dimension: <see cref="Value"/> alone when static, or <see cref="Value"/>·N when it carries the
    /// dynamic batch N. A shape holds at most one dynamic dimension.
    /// </summary>
    internal readonly record struct Dim(long Value, bool Dynamic)
    {
        public static Dim Static(long value) => new(value, false);

        public static Dim Batch(long factor = 1) => new(factor, true);

        /// <summary>"96", "N", "64N".</summary>
        public override string ToString() => !Dynamic ? Value.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : Value == 1 ? "N" : Value.ToString(System.Globalization.CultureInfo.InvariantCulture) + "N";

        /// <summary>A C# expression for this dimension, given the name of the batch variable.</summary>
        public string ToCSharp(string batch) => !Dynamic ? Value.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : Value == 1 ? batch : $"{batch} * {Value}";
    }
}
