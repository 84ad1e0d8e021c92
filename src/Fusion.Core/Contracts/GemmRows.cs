namespace Fusion.Compiler
{
    /// <summary>
    /// The GEMM template's weight row stride KW: K rounded up to 16 bytes (a multiple of 8 halves, or of 16 for the int8
    /// variant), so every weight row starts 16-byte aligned and its tiles move by cp.async. The generator specializes kernels
    /// with it and the runtime pads weights to it. Also the default column tile, which the ILGPU template is printed for and
    /// the CUDA one starts from.
    /// </summary>
    internal static class GemmRows
    {
        /// <summary>Elements per 16 bytes of a weight row: 8 halves or 16 int8.</summary>
        public static int Vector(bool int8) => int8 ? 16 : 8;

        public static int Stride(int k, bool int8 = false) => (k + Vector(int8) - 1) / Vector(int8) * Vector(int8);

        /// <summary>The template's default column tile for width <paramref name="n"/>: 96 divides the Swin widths, 64 or 32 for narrow layers.</summary>
        public static int DefaultColumns(int n) => n <= 32 ? 32 : n <= 64 ? 64 : 96;
    }
}
