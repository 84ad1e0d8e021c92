using System;
using System.Collections.Generic;
using System.Linq;
using Fusion.Compiler;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// Gives the convolutions the implicit GEMM cannot read as they are — over the NCHW model input, or over a channel count that is
    /// not a multiple of 8 (ResNet's stem: the 3-channel image) — the implicit GEMM the others get, where their windows overlap (the
    /// kernel larger than the stride: the im2col matrix is then k²/s² times the image): in an fp16 plan, such a Linear
    /// over the im2col windows of an image [B, C, H, W] reads instead the windows of the image copied channels-last with zero
    /// channels up to C₈ = C rounded up to 8 ([B, H, W, C₈], one generated kernel; no padding when C is a multiple of 8 already),
    /// and its weight [O, k·k·C] becomes [O, k·k·C₈] with zero columns at the added channels (a load-time constant). The extra products are zeros, so the sums are the same; the scheduler then claims the Linear as an implicit-GEMM
    /// convolution (<see cref="ConvGemm.Fits"/>), which reads the image in 16-byte chunks of 8 channels instead of storing its
    /// k·k·C-wide im2col matrix (on the H200, ResNet-50's stem gather alone was 0.43 ms of 4.0 at batch 64: docs/perf.md). It costs
    /// k·k·(C₈ − C) more multiply-adds per output, which the tensor cores absorb; float32 plans, whose GEMMs are cuBLASLt's and have
    /// no implicit form, are left as they are.
    /// </summary>
    internal static class ConvChannelPadding
    {
        /// <summary>The channels the implicit GEMM reads at a time (one 16-byte chunk of fp16).</summary>
        private const long Chunk = 8;

        /// <summary>
        /// For each node of <paramref name="graph"/>, whether it is an Im2col this plan pads: fp16 (as <paramref name="types"/> has
        /// it), read only by an fp16 Linear as its windows (one the plan does not quantize: <paramref name="quantized"/> holds no key
        /// for it), over a [B, C, H, W] image with static C, H, W that the implicit GEMM cannot read in place, with overlapping windows.
        /// </summary>
        public static bool[] Find(ModelGraph graph, IReadOnlyList<FloatType> types, IReadOnlyList<string?> quantized)
        {
            var nodes = graph.Nodes;
            var readers = ReaderLists.Of(nodes);
            var pad = new bool[nodes.Count];
            foreach (var windows in nodes.Where(n => n.Is(Ops.Im2col)))
            {
                if (readers[windows.Id].Count != 1 || types[windows.Id] != FloatType.F16 || windows.Id == graph.Output) continue;
                var linear = nodes[readers[windows.Id][0]];
                if (!linear.Is(Ops.Linear) || linear.Inputs[0] != windows.Id || linear.Inputs[1] == windows.Id || types[linear.Id] != FloatType.F16 || quantized[linear.Id] is not null) continue;
                var image = nodes[windows.Inputs[0]];
                if (image.Shape.Count != 4 || image.Shape.Skip(1).Any(d => d.Dynamic) || ReadsChannelsLast(nodes, image)) continue;
                // Windows that do not overlap (kernel ≤ stride: a patchify such as ConvNeXt's 4×4 stride-4 stem, a strided 1×1) gather
                // each image element at most once, so the gather costs what the copy would, and the padding only adds products:
                // measured on the H200, ConvNeXt-T padded was 0.3–0.6 % slower at every batch (docs/perf.md).
                var geometry = ConvGeometry.Of(windows.Attributes);
                if (geometry.Kernel <= geometry.Stride) continue;
                pad[windows.Id] = true;
            }
            return pad;
        }

        /// <summary>
        /// Whether the implicit GEMM can already read <paramref name="image"/> as it is: the permute to NCHW of a channels-last value whose
        /// channels are a multiple of 8 (every convolution after the first, once the layout pass has run).
        /// </summary>
        private static bool ReadsChannelsLast(IReadOnlyList<Node> nodes, Node image) =>
            image.Is(Ops.Permute) && image.Attributes.Ints("axes").SequenceEqual(ConvGraph.ToChannelsFirst) && image.Shape[1].Value % Chunk == 0;

        /// <summary>
        /// The padded windows of <paramref name="windows"/> (an Im2col <see cref="Find"/> marked) over <paramref name="image"/> (its
        /// input's id in the plan): the image permuted channels-last, padded with zero channels, and read back through the permute to
        /// [B, C₈, H, W] by a new Im2col. Returns the new Im2col's id.
        /// </summary>
        public static int Windows(Node windows, int image, IReadOnlyList<Node> plan, Func<Node, int> add)
        {
            long channels = plan[image].Shape[1].Value, padded = Padded(channels);
            int lastAxis = Emit(add, plan, Ops.Permute, Axes(ConvGraph.ToChannelsLast), windows, $"{windows.Source}: image channels-last", image);
            int zeros = padded == channels ? lastAxis
                : Emit(add, plan, Ops.Pad, AttributeSet.Of(OpAttribute.IntList("pads", new[] { 0, padded - channels }), OpAttribute.Real("value", 0)),
                    windows, $"{windows.Source}: image padded to {padded} channels", lastAxis);
            int firstAxis = Emit(add, plan, Ops.Permute, Axes(ConvGraph.ToChannelsFirst), windows, $"{windows.Source}: padded image as [B, {padded}, H, W]", zeros);
            var attributes = AttributeSet.Of(windows.Attributes.Items.Where(a => a.Name != "inChannels").Append(OpAttribute.Int("inChannels", padded)).ToArray());
            return Emit(add, plan, Ops.Im2col, attributes, windows, windows.Source, firstAxis);
        }

        /// <summary>
        /// The weight <paramref name="weight"/> [O, k·k·C] of the Linear over padded windows, as [O, k·k·C₈] with zero columns at the
        /// added channels of each tap (the windows' (ky, kx, c) order).
        /// </summary>
        public static int Weight(Node linear, int weight, long channels, IReadOnlyList<Node> plan, Func<Node, int> add)
        {
            long outputs = plan[weight].Shape[0].Value, taps = plan[weight].Shape[1].Value / channels, padded = Padded(channels);
            if (padded == channels) return weight;
            int perTap = Emit(add, plan, Ops.Reshape, Shape(outputs, taps, channels), linear, $"{linear.Source}: weight per tap", weight);
            int zeros = Emit(add, plan, Ops.Pad, AttributeSet.Of(OpAttribute.IntList("pads", new[] { 0, padded - channels }), OpAttribute.Real("value", 0)),
                linear, $"{linear.Source}: weight padded to {padded} channels", perTap);
            return Emit(add, plan, Ops.Reshape, Shape(outputs, taps * padded), linear, $"{linear.Source}: padded weight", zeros);
        }

        private static long Padded(long channels) => (channels + Chunk - 1) / Chunk * Chunk;

        private static AttributeSet Axes(long[] axes) => AttributeSet.Of(OpAttribute.IntList("axes", axes));

        private static AttributeSet Shape(params long[] shape) => AttributeSet.Of(OpAttribute.IntList("shape", shape));

        /// <summary>A new plan node of <paramref name="op"/> with its inferred shape and its input's type, placed at <paramref name="near"/>'s call.</summary>
        private static int Emit(Func<Node, int> add, IReadOnlyList<Node> plan, OpDescriptor op, AttributeSet attributes, Node near, string what, int input)
        {
            var shape = op.InferShape(new[] { plan[input].Shape.ToArray() }, attributes, out var error)
                ?? throw new InvalidOperationException($"padding the channels of {near.Source}: {error}");
            return add(new Node(0, op.Name, EquatableArray.Of(input), attributes, "", what, near.Scope, near.Location)
            { Shape = shape.ToEquatableArray(), Precision = plan[input].Precision });
        }
    }
}
