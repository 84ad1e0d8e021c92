using System.Collections.Generic;

namespace Fusion.Compiler
{
    /// <summary>
    /// An implicit-GEMM convolution: the GEMM template reads its x operand as the im2col matrix of a channels-last image
    /// [B, H, W, C] without storing it — row (b, oy, ox), column (ky, kx, c) — so a 16-byte chunk of a row is 8 fp16 channels (16
    /// int8 codes in the Int8 plan) of one tap, contiguous in the image or wholly in the padding (C a multiple of 8, or of 16). The same numbers drive the template's addressing
    /// (<see cref="Constants"/>), the runtime's row count and the gather kernel the CPU and the cuBLASLt path run instead.
    /// </summary>
    internal sealed record ConvGemm(int Height, int Width, int Channels, int Kernel, int Stride, int Padding, int Dilation)
    {
        public int OutHeight => (Height + 2 * Padding - Dilation * (Kernel - 1) - 1) / Stride + 1;

        public int OutWidth => (Width + 2 * Padding - Dilation * (Kernel - 1) - 1) / Stride + 1;

        /// <summary>The GEMM's K: a window's taps times the channels.</summary>
        public int Depth => Kernel * Kernel * Channels;

        /// <summary>
        /// Whether the template can read this convolution in 16-byte chunks of one tap: C a multiple of 8 halves, or of 16 int8 codes
        /// (<paramref name="int8"/>).
        /// </summary>
        public static bool Fits(long channels, bool int8 = false) => channels % ChunkChannels(int8) == 0;

        /// <summary>The channels in one 16-byte chunk: 8 halves or 16 int8 codes.</summary>
        public static int ChunkChannels(bool int8) => int8 ? 16 : 8;

        /// <summary>The template's constants (printed as FUSION_CONV_*).</summary>
        public void AddConstants(IDictionary<string, int> constants)
        {
            constants["CONV_H"] = Height;
            constants["CONV_W"] = Width;
            constants["CONV_C"] = Channels;
            constants["CONV_OH"] = OutHeight;
            constants["CONV_OW"] = OutWidth;
            constants["CONV_KS"] = Kernel;
            constants["CONV_S"] = Stride;
            constants["CONV_P"] = Padding;
            constants["CONV_D"] = Dilation;
        }

        /// <summary>The window attributes of the <see cref="Ops.Im2col"/> view this convolution reads.</summary>
        public AttributeSet Attributes() => AttributeSet.Of(OpAttribute.Int("kernel", Kernel), OpAttribute.Int("stride", Stride),
            OpAttribute.Int("padding", Padding), OpAttribute.Int("dilation", Dilation));

        public override string ToString() => $"{Height}x{Width}x{Channels} k{Kernel} s{Stride} p{Padding} d{Dilation}";
    }
}
