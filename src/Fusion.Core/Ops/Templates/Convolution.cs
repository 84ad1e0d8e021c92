using System;
using System.Globalization;
using System.Linq;

namespace Fusion.Compiler
{
    internal static partial class Ops
    {
        public static readonly Conv2dOp Conv2d = new();

        public static readonly BatchNorm2dOp BatchNorm2d = new();
    }

    /// <summary>
    /// How the convolution-family front-end operators build their graphs. Each computes in channels-last order — [B, OH, OW, O],
    /// the order a GEMM over windows writes and consecutive channels are adjacent — and ends with the permute back to PyTorch's
    /// NCHW, so a model is written in NCHW while every convolution's result is NHWC in memory: a later permute to NHWC (the next
    /// convolution's windows, ConvNeXt's permute) reads it as a view.
    /// </summary>
    internal static class ConvGraph
    {
        public static readonly long[] ToChannelsLast = { 0, 2, 3, 1 };

        public static readonly long[] ToChannelsFirst = { 0, 3, 1, 2 };

        public static int Permute(IOpCall call, int x, long[] axes) => call.Add(Ops.Permute.Name, new[] { x }, AttributeSet.Of(OpAttribute.IntList("axes", axes)));

        public static int Reshape(IOpCall call, int x, params long[] shape) => call.Add(Ops.Reshape.Name, new[] { x }, AttributeSet.Of(OpAttribute.IntList("shape", shape)));

        public static int Reduce(IOpCall call, string op, int x, params long[] axes) =>
            call.Add(op, new[] { x }, AttributeSet.Of(OpAttribute.IntList("axes", axes), OpAttribute.Int("keepDim", 0)));

        public static int Binary(IOpCall call, string op, int a, int b) => call.Add(op, new[] { a, b }, AttributeSet.Empty);

        public static int Scalar(IOpCall call, double value) => call.Add(Ops.Const.Name, Array.Empty<int>(), AttributeSet.Of(OpAttribute.Real("value", value)));

        /// <summary>A layer's integer constructor argument, or <paramref name="fallback"/> when it has none.</summary>
        public static long Int(IOpCall call, string name, long fallback) =>
            call.LayerArgument(name) is { } v ? Convert.ToInt64(v, CultureInfo.InvariantCulture) : fallback;

        /// <summary>The window geometry attributes of a call's constant arguments or its layer's (kernel, stride, padding, dilation).</summary>
        public static OpAttribute[] Geometry(long kernel, long stride, long padding, long dilation) => new[]
        {
            OpAttribute.Int("kernel", kernel), OpAttribute.Int("stride", stride), OpAttribute.Int("padding", padding), OpAttribute.Int("dilation", dilation),
        };
    }

    /// <summary>
    /// torch.nn.Conv2d (square kernel; stride, padding, dilation, groups, bias), NCHW in and out. One group: a Linear over the
    /// im2col windows (a 1×1 stride-1 convolution over the channels-last permute), its epilogue taking what follows. Several
    /// groups (depthwise among them): a generated reduction over each output channel's window. The weight [O, C/g, k, k] is
    /// re-laid out once at load to the windows' (ky, kx, c) order.
    /// </summary>
    internal sealed class Conv2dOp() : FrontEndOp("Conv2d", "2-d convolution: a GEMM over im2col windows, or a reduction per group")
    {
        public override string ShapeRule => "[B, C, H, W] → [B, O, OH, OW] (the layer's kernel k, stride s, padding p, dilation d, groups; OH = ⌊(H + 2p − d(k−1) − 1)/s⌋ + 1)";

        public override int Translate(IOpCall call)
        {
            long inC = ConvGraph.Int(call, "inChannels", 0), outC = ConvGraph.Int(call, "outChannels", 0), k = ConvGraph.Int(call, "kernel", 0);
            long stride = ConvGraph.Int(call, "stride", 1), padding = ConvGraph.Int(call, "padding", 0), dilation = ConvGraph.Int(call, "dilation", 1);
            long groups = ConvGraph.Int(call, "groups", 1);
            if (groups < 1 || inC % groups != 0 || outC % groups != 0)
                return call.Fail($"Conv2d's {groups} groups must divide its {inC} input and {outC} output channels");
            int x = call.Tensors[0], weight = call.LayerParameter("weight"), bias = call.LayerParameter("bias");
            long perGroup = inC / groups, taps = k * k;
            var geometry = ConvGraph.Geometry(k, stride, padding, dilation).Append(OpAttribute.Int("inChannels", inC));
            int y;
            if (groups == 1)
            {
                // [O, C, k, k] → [O, k·k·C] in the windows' (ky, kx, c) order: a load-time constant unless it is a plain reshape.
                int matrix = taps == 1 ? ConvGraph.Reshape(call, weight, outC, taps * perGroup)
                    : ConvGraph.Reshape(call, ConvGraph.Permute(call, weight, ConvGraph.ToChannelsLast), outC, taps * perGroup);
                bool pointwise = k == 1 && stride == 1 && padding == 0;
                int columns = pointwise ? ConvGraph.Permute(call, x, ConvGraph.ToChannelsLast) : call.Add(Ops.Im2col.Name, new[] { x }, AttributeSet.Of(geometry.ToArray()));
                y = call.Add(Ops.Linear.Name, bias >= 0 ? new[] { columns, matrix, bias } : new[] { columns, matrix }, AttributeSet.Empty);
            }
            else
            {
                // The weight [O, C/g, k, k] as [k·k·C/g, O] (a load-time constant): threads of neighbouring output channels read
                // neighbouring weights, as they read neighbouring input channels.
                int byTap = ConvGraph.Reshape(call, ConvGraph.Permute(call, weight, new long[] { 2, 3, 1, 0 }), k * k * perGroup, outC);
                var attributes = geometry.Concat(new[] { OpAttribute.Int("groups", groups), OpAttribute.Int("outChannels", outC) }).ToArray();
                int windows = call.Add(Ops.ConvWindows.Name, new[] { x }, AttributeSet.Of(attributes)); // [B, OH, OW, k·k·C/g, O]
                y = ConvGraph.Reduce(call, Ops.Sum.Name, ConvGraph.Binary(call, Ops.Mul.Name, windows, byTap), 3);
                if (bias >= 0) y = ConvGraph.Binary(call, Ops.Add.Name, y, bias);
            }
            return ConvGraph.Permute(call, y, ConvGraph.ToChannelsFirst);
        }
    }

    /// <summary>
    /// torch.nn.BatchNorm2d in inference form: x·s + t per channel with s = weight/√(running_var + eps) and t = bias − running_mean·s,
    /// both computed from the parameters alone, so they are load-time constants and the two pointwise operations fuse into the
    /// convolution's epilogue before it.
    /// </summary>
    internal sealed class BatchNorm2dOp() : FrontEndOp("BatchNorm2d", "batch normalization with running statistics (NCHW)")
    {
        public override string ShapeRule => "[B, C, H, W] → the same (weight, bias, running_mean, running_var [C])";

        public override int Translate(IOpCall call)
        {
            long channels = ConvGraph.Int(call, "channels", 0);
            double eps = Convert.ToDouble(call.LayerArgument("eps") ?? 1e-5, CultureInfo.InvariantCulture);
            int variance = ConvGraph.Binary(call, Ops.Add.Name, call.LayerParameter("running_var"), ConvGraph.Scalar(call, eps));
            int scale = ConvGraph.Binary(call, Ops.Mul.Name, call.LayerParameter("weight"), call.Add(Ops.Rsqrt.Name, new[] { variance }, AttributeSet.Empty));
            int shift = ConvGraph.Binary(call, Ops.Sub.Name, call.LayerParameter("bias"), ConvGraph.Binary(call, Ops.Mul.Name, call.LayerParameter("running_mean"), scale));
            int scaled = ConvGraph.Binary(call, Ops.Mul.Name, call.Tensors[0], ConvGraph.Reshape(call, scale, channels, 1, 1));
            return ConvGraph.Binary(call, Ops.Add.Name, scaled, ConvGraph.Reshape(call, shift, channels, 1, 1));
        }
    }
}
