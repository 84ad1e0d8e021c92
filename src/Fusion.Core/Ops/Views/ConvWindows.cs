using System.Collections.Generic;

namespace Fusion.Compiler
{
    internal static partial class Ops
    {
        public static readonly Im2colOp Im2col = new();

        public static readonly ConvWindowsOp ConvWindows = new();
    }

    /// <summary>
    /// The sliding-window geometry of a 2-d convolution or pooling, from the attributes <c>kernel</c>, <c>stride</c> (1),
    /// <c>padding</c> (0) and <c>dilation</c> (1), as PyTorch defines them (square kernels, the same on both axes).
    /// </summary>
    internal readonly struct ConvGeometry
    {
        private ConvGeometry(long kernel, long stride, long padding, long dilation)
        {
            Kernel = kernel;
            Stride = stride;
            Padding = padding;
            Dilation = dilation;
        }

        public long Kernel { get; }

        public long Stride { get; }

        public long Padding { get; }

        public long Dilation { get; }

        /// <summary>Taps per window: kernel².</summary>
        public long Taps => Kernel * Kernel;

        public static ConvGeometry Of(AttributeSet a) =>
            new(a.Int("kernel"), a.IntOr("stride", 1), a.IntOr("padding", 0), a.IntOr("dilation", 1));

        /// <summary>What is wrong with this geometry over an image of <paramref name="height"/>×<paramref name="width"/>, or null.</summary>
        public string? Problem(long height, long width)
        {
            if (Kernel < 1 || Stride < 1 || Dilation < 1 || Padding < 0)
                return $"kernel {Kernel}, stride {Stride}, dilation {Dilation} must be ≥ 1 and padding {Padding} ≥ 0";
            if (OutSize(height) < 1 || OutSize(width) < 1)
                return $"a {Kernel}×{Kernel} window (dilation {Dilation}, padding {Padding}) does not fit the {height}×{width} image";
            return null;
        }

        /// <summary>Output positions along an axis of <paramref name="n"/> inputs (PyTorch's floor formula).</summary>
        public long OutSize(long n) => (n + 2 * Padding - Dilation * (Kernel - 1) - 1) / Stride + 1;

        /// <summary>
        /// The input coordinate of output <paramref name="o"/> and tap <paramref name="t"/> along one axis, plus the padding:
        /// inside the image where it lies in [padding, padding + size).
        /// </summary>
        public IndexExpr Padded(IndexAlgebra a, IndexExpr o, IndexExpr t) => a.Add(a.Scale(o, Stride), a.Scale(t, Dilation));

        /// <summary>
        /// The read of input [b, c, ky-th row, kx-th column of output (oy, ox)'s window] over an image of
        /// <paramref name="height"/>×<paramref name="width"/>: inside, or the fill (<paramref name="fill"/>) in the padding.
        /// </summary>
        public ViewRead Tap(IndexAlgebra a, IndexExpr b, IndexExpr c, IndexExpr oy, IndexExpr ox, IndexExpr ky, IndexExpr kx, long height, long width, double fill)
        {
            var y = Padded(a, oy, ky);
            var x = Padded(a, ox, kx);
            var bounds = Padding == 0
                ? new IndexBound[0] // the floor formula keeps every tap inside the image
                : new[] { new IndexBound(y, Padding, Padding + height), new IndexBound(x, Padding, Padding + width) };
            var index = new[] { b, c, a.Add(y, -Padding), a.Add(x, -Padding) };
            return new ViewRead(new[] { new ViewPiece(0, index, bounds) }, fill);
        }

        /// <summary><see cref="Tap"/> for the float64 reference: the input index, or null in the padding.</summary>
        public long[]? TapIndex(long[] inShape, long b, long c, long oy, long ox, long ky, long kx)
        {
            long y = oy * Stride + ky * Dilation - Padding, x = ox * Stride + kx * Dilation - Padding;
            return y < 0 || y >= inShape[2] || x < 0 || x >= inShape[3] ? null : new[] { b, c, y, x };
        }

        /// <summary>The [B, C, H, W] input checks shared by the window views; <paramref name="channels"/> is the layer's (0: any).</summary>
        public static string? InputProblem(Dim[] a, long channels)
        {
            if (a.Length != 4 || a[1].Dynamic || a[2].Dynamic || a[3].Dynamic)
                return $"expects [B, C, H, W] (NCHW) with the batch first, got {Dims.Text(a)}";
            if (channels > 0 && a[1].Value != channels)
                return $"input {Dims.Text(a)} has {a[1].Value} channels, the layer takes {channels}";
            return null;
        }
    }

    /// <summary>
    /// A convolution's input as a GEMM operand (im2col): [B, C, H, W] → [B, OH, OW, k·k·C], row (b, oy, ox) holding output
    /// (oy, ox)'s window ordered (ky, kx, c), so consecutive elements are consecutive channels, as in NHWC memory. Padding reads 0.
    /// A Conv2d of one group is this view and a Linear over its last axis.
    /// </summary>
    internal sealed class Im2colOp() : ViewOp("Im2col", "[B, C, H, W] → [B, OH, OW, k·k·C] convolution windows (ky, kx, c)")
    {
        public override string ShapeRule => "[B, C, H, W] → [B, OH, OW, k·k·C] (`kernel` k, `stride`, `padding`, `dilation`; OH = ⌊(H + 2p − d(k−1) − 1)/s⌋ + 1)";

        public override bool Bijective => false;

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> inputs, AttributeSet attributes, out string? error)
        {
            error = null;
            var a = inputs[0];
            var g = ConvGeometry.Of(attributes);
            var problem = ConvGeometry.InputProblem(a, attributes.IntOr("inChannels", 0)) ?? g.Problem(a[2].Value, a[3].Value);
            if (problem is not null) return Fail(problem, out error);
            return new[] { a[0], Dim.Static(g.OutSize(a[2].Value)), Dim.Static(g.OutSize(a[3].Value)), Dim.Static(g.Taps * a[1].Value) };
        }

        public override ViewRead Read(ViewQuery q)
        {
            var a = q.Algebra;
            var image = q.Inputs[0];
            var g = ConvGeometry.Of(q.Attributes);
            long channels = image[1].Value;
            var tap = a.Div(q.Index[3], channels);
            return g.Tap(a, q.Index[0], a.Mod(q.Index[3], channels), q.Index[1], q.Index[2], a.Div(tap, g.Kernel), a.Mod(tap, g.Kernel),
                image[2].Value, image[3].Value, 0);
        }

        protected override (int Input, long[]? Index) Source(IReadOnlyList<RefArray> inputs, long[] outShape, long[] outIndex, AttributeSet attributes)
        {
            var g = ConvGeometry.Of(attributes);
            var shape = inputs[0].Shape;
            long channels = shape[1], tap = outIndex[3] / channels;
            return (0, g.TapIndex(shape, outIndex[0], outIndex[3] % channels, outIndex[1], outIndex[2], tap / g.Kernel, tap % g.Kernel));
        }
    }

    /// <summary>
    /// The windows a grouped or depthwise convolution, or a pooling, reduces: [B, C, H, W] → [B, OH, OW, k·k·C/groups, O], where
    /// output channel o of group o / (O/groups) sees its group's input channels, ordered (ky, kx, c). Without <c>groups</c> it is one
    /// window per channel (O = C), as pooling reads. The padding reads <c>value</c> (−∞ for max pooling). The output channel is the
    /// last axis so that, reduced over the window axis, neighbouring threads take neighbouring channels: their reads of the
    /// channels-last input and of a [k·k·C/g, O] weight are then consecutive.
    /// </summary>
    internal sealed class ConvWindowsOp() : ViewOp("ConvWindows", "[B, C, H, W] → [B, OH, OW, k·k·C/groups, O] grouped windows")
    {
        public override string ShapeRule => "[B, C, H, W] → [B, OH, OW, k·k·C/g, O] (`kernel`, `stride`, `padding`, `dilation`, `groups` g and `outChannels` O; without them O = C, g = C)";

        public override bool Bijective => false;

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> inputs, AttributeSet attributes, out string? error)
        {
            error = null;
            var a = inputs[0];
            var g = ConvGeometry.Of(attributes);
            var problem = ConvGeometry.InputProblem(a, attributes.IntOr("inChannels", 0)) ?? g.Problem(a[2].Value, a[3].Value);
            if (problem is not null) return Fail(problem, out error);
            var (groups, outChannels) = Groups(a[1].Value, attributes);
            if (groups < 1 || a[1].Value % groups != 0 || outChannels % groups != 0)
                return Fail($"{groups} groups must divide the {a[1].Value} input and {outChannels} output channels", out error);
            return new[] { a[0], Dim.Static(g.OutSize(a[2].Value)), Dim.Static(g.OutSize(a[3].Value)), Dim.Static(g.Taps * (a[1].Value / groups)), Dim.Static(outChannels) };
        }

        /// <summary>The groups and output channels: the attributes, or one window per input channel.</summary>
        private static (long Groups, long OutChannels) Groups(long inChannels, AttributeSet attributes) =>
            (attributes.IntOr("groups", inChannels), attributes.IntOr("outChannels", inChannels));

        public override ViewRead Read(ViewQuery q)
        {
            var a = q.Algebra;
            var image = q.Inputs[0];
            var g = ConvGeometry.Of(q.Attributes);
            var (groups, outChannels) = Groups(image[1].Value, q.Attributes);
            long perGroup = image[1].Value / groups, outPerGroup = outChannels / groups;
            var r = q.Index[3];
            var tap = a.Div(r, perGroup);
            var channel = a.Add(a.Scale(a.Div(q.Index[4], outPerGroup), perGroup), a.Mod(r, perGroup));
            return g.Tap(a, q.Index[0], channel, q.Index[1], q.Index[2], a.Div(tap, g.Kernel), a.Mod(tap, g.Kernel),
                image[2].Value, image[3].Value, q.Attributes.FloatOr("value", 0));
        }

        protected override (int Input, long[]? Index) Source(IReadOnlyList<RefArray> inputs, long[] outShape, long[] outIndex, AttributeSet attributes)
        {
            var g = ConvGeometry.Of(attributes);
            var shape = inputs[0].Shape;
            var (groups, outChannels) = Groups(shape[1], attributes);
            long perGroup = shape[1] / groups, outPerGroup = outChannels / groups;
            long r = outIndex[3], tap = r / perGroup, channel = outIndex[4] / outPerGroup * perGroup + r % perGroup;
            return (0, g.TapIndex(shape, outIndex[0], channel, outIndex[1], outIndex[2], tap / g.Kernel, tap % g.Kernel));
        }

        protected override double Fill(AttributeSet attributes) => attributes.FloatOr("value", 0);
    }
}
