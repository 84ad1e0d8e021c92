using Fusion.Compiler;

namespace Fusion;

/// <summary>
/// The convolution an implicit-GEMM <see cref="GemmKernel"/> computes: its x operand is the channels-last image
/// [batch, <see cref="Height"/>, <see cref="Width"/>, <see cref="Channels"/>], read as the im2col matrix of this window (square
/// kernel, stride, padding, dilation) without storing it; the product is [batch, OH, OW, N].
/// </summary>
public sealed record ConvolutionShape(int Height, int Width, int Channels, int Kernel, int Stride, int Padding, int Dilation)
{
    internal ConvGemm Geometry { get; } = new(Height, Width, Channels, Kernel, Stride, Padding, Dilation);

    public int OutHeight => Geometry.OutHeight;

    public int OutWidth => Geometry.OutWidth;

    /// <summary>
    /// The gather run first where the product needs a stored im2col matrix (the CPU's int8 and FP8 GEMMs, cuBLASLt on the GPU): the
    /// image [N, H, W, C] (fp16, float32, or int8 codes: <paramref name="image"/>) to its im2col matrix [N, OH, OW, k·k·C], the kernel
    /// the generator's Im2col view would be, built once per type.
    /// </summary>
    internal GeneratedKernel Gather(string gemmName, DType image) => image switch
    {
        DType.Int8 => _int8Gather ??= BuildGather(gemmName, FloatType.I8),
        DType.Float16 => _gather ??= BuildGather(gemmName, FloatType.F16),
        DType.Float32 => _float32Gather ??= BuildGather(gemmName, FloatType.F32),
        _ => throw new FusionException($"{gemmName}: a convolution's image is fp16, float32 or int8 codes, not {image.ShortName()}"),
    };

    private GeneratedKernel? _gather, _int8Gather, _float32Gather;

    private GeneratedKernel BuildGather(string gemmName, FloatType type)
    {
        var builder = new KernelBuilder();
        int image = builder.Input(type, Compiler.Dim.Batch(), Compiler.Dim.Static(Height), Compiler.Dim.Static(Width), Compiler.Dim.Static(Channels));
        int nchw = builder.Op(Ops.Permute, AttributeSet.Of(OpAttribute.IntList("axes", new long[] { 0, 3, 1, 2 })), null, image);
        int columns = builder.Op(Ops.Im2col, Geometry.Attributes(), null, nchw);
        return builder.Build(gemmName + "_im2col", columns).Kernel;
    }
}
