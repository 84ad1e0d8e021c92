namespace Fusion.Compiler
{
    /// <summary>
    /// The GEMM template's weight row stride KW: K rounded up to a multiple of 8 halves, so every weight row starts 16-byte
    /// aligned and its tiles move by cp.async. The generator specializes kernels with it and the runtime pads weights to it.
    /// </summary>
    internal static class GemmRows
    {
        public static int Stride(int k) => (k + 7) / 8 * 8;
    }
}
