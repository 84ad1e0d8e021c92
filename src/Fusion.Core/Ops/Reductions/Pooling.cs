using System;
using System.Linq;

namespace Fusion.Compiler
{
    internal static partial class Ops
    {
        public static readonly Pool2dOp MaxPool2d = new("MaxPool2d", "max pooling over k×k windows (NCHW); the padding never wins", max: true);

        public static readonly Pool2dOp AvgPool2d = new("AvgPool2d", "average pooling over k×k windows (NCHW), padding counted as zeros", max: false);

        public static readonly AdaptiveAvgPool2dOp AdaptiveAvgPool2d = new();

        public static readonly LayerNorm2dOp LayerNorm2d = new();
    }

    /// <summary>
    /// torch.nn.MaxPool2d / AvgPool2d (count_include_pad, PyTorch's default): a reduction over each channel's windows
    /// (<see cref="ConvWindowsOp"/>, [B, OH, OW, k·k, C]) — max with the padding read as −∞, or the mean with it read as 0 —
    /// then the permute back to NCHW.
    /// </summary>
    internal sealed class Pool2dOp(string name, string summary, bool max) : FrontEndOp(name, summary)
    {
        public override string ShapeRule => "[B, C, H, W] → [B, C, OH, OW] (`kernel` k, `stride` s, `padding` p ≤ k/2; OH = ⌊(H + 2p − k)/s⌋ + 1)";

        public override int Translate(IOpCall call)
        {
            var given = call.ConstantAttributes();
            long kernel = given.Int("kernel"), stride = given.IntOr("stride", kernel), padding = given.IntOr("padding", 0);
            if (kernel < 1 || stride < 1 || padding < 0 || 2 * padding > kernel)
                return call.Fail($"{Name} needs kernel and stride ≥ 1 and padding between 0 and half the kernel (kernel {kernel}, stride {stride}, padding {padding})");
            var attributes = ConvGraph.Geometry(kernel, stride, padding, 1).Append(OpAttribute.Real("value", max ? double.NegativeInfinity : 0)).ToArray();
            int windows = call.Add(Ops.ConvWindows.Name, new[] { call.Tensors[0] }, AttributeSet.Of(attributes));
            int pooled = ConvGraph.Reduce(call, (max ? Ops.Max : Ops.Mean).Name, windows, 3);
            return ConvGraph.Permute(call, pooled, ConvGraph.ToChannelsFirst);
        }
    }

    /// <summary>torch.nn.AdaptiveAvgPool2d to 1×1 (global average pooling): the mean over H and W, kept as size-1 axes.</summary>
    internal sealed class AdaptiveAvgPool2dOp() : FrontEndOp("AdaptiveAvgPool2d", "global average pooling: [B, C, H, W] → [B, C, 1, 1]")
    {
        public override string ShapeRule => "[B, C, H, W] → [B, C, 1, 1] (`outputSize` 1)";

        public override int Translate(IOpCall call)
        {
            long size = call.ConstantAttributes().Int("outputSize");
            if (size != 1)
                return call.Fail($"AdaptiveAvgPool2d to {size}×{size}: only output size 1 (global pooling) is supported; write AvgPool2d with kernel = stride = H/{size} for the others");
            return call.Add(Ops.Mean.Name, new[] { call.Tensors[0] }, AttributeSet.Of(OpAttribute.IntList("axes", new long[] { 2, 3 }), OpAttribute.Int("keepDim", 1)));
        }
    }

    /// <summary>
    /// A LayerNorm over the channels of [B, C, H, W] (ConvNeXt's channels-first LayerNorm): the permute to channels-last, the
    /// LayerNorm over the last axis, and the permute back, so a channels-last producer is read in place.
    /// </summary>
    internal sealed class LayerNorm2dOp() : FrontEndOp("LayerNorm2d", "layer normalization over the channels of NCHW")
    {
        public override string ShapeRule => "[B, C, H, W] → the same (the layer's weight and bias [C])";

        public override int Translate(IOpCall call)
        {
            int channelsLast = ConvGraph.Permute(call, call.Tensors[0], ConvGraph.ToChannelsLast);
            var eps = Convert.ToDouble(call.LayerArgument("eps") ?? 1e-5, System.Globalization.CultureInfo.InvariantCulture);
            int normalized = call.Add(Ops.LayerNorm.Name, new[] { channelsLast, call.LayerParameter("weight"), call.LayerParameter("bias") },
                AttributeSet.Of(OpAttribute.Real("eps", eps)));
            return ConvGraph.Permute(call, normalized, ConvGraph.ToChannelsFirst);
        }
    }
}
