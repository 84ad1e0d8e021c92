using System;
using System.Collections.Generic;
using System.Linq;
using Fusion.Compiler;
using Fusion.Generator.Diagnostics;
using Fusion.Generator.Ir;
using Fusion.Generator.Model;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// Which Linear layers the Int8 plan runs as int8 GEMMs, and the name of each one's input scale. A Linear qualifies when it is
    /// not on either keep-list (KeepFloat32, or KeepHalfInInt8: the model's accuracy policy), its weight is a layer's parameter
    /// "&lt;layer&gt;.weight" (read as it is or through load-time operators, such as the QKV re-layout, a folded layer scale or batch
    /// norm, a convolution's re-layout to [out, k·k·in]): a Linear's [out, in] or a one-group convolution's [out, in, k, k] (F.Conv2d
    /// is a Linear over the im2col windows), and its input is not an image's patches. Calibration observes each F.Linear's input and
    /// each one-group F.Conv2d's under "&lt;layer&gt;.input" (LinearInputCalibration); the patch embedding (F.PatchConv) has no observed
    /// input, and grouped convolutions are no Linears, so both stay fp16.
    /// </summary>
    internal static class Int8Linears
    {
        public const string InputSuffix = ".input";

        /// <summary>
        /// For each node: the scale key of a Linear the Int8 plan quantizes, else null. <paramref name="kept"/> is the float32
        /// keep-list's match; the model's KeepHalfInInt8 entries leave more Linears in fp16 (an entry matching none is FUS017).
        /// </summary>
        public static string?[] Find(ModelGraph graph, bool[] kept, List<DiagnosticInfo> errors)
        {
            var keys = new string?[graph.Nodes.Count];
            var parameterOnly = ParameterOnly.Of(graph.Nodes);
            foreach (var node in graph.Nodes)
            {
                if (!node.Is(Ops.Linear) || kept[node.Id] || graph.Nodes[node.Inputs[0]].Is(Ops.Patchify)) continue;
                // A Linear layer's weight is [out, in], a one-group convolution's [out, in, k, k]: both layers' inputs are calibrated.
                var weight = LayerWeightNode(graph, node.Inputs[1], parameterOnly);
                if (weight is not null && weight.Shape.Count is 2 or 4 && weight.Name.EndsWith(".weight", StringComparison.Ordinal))
                    keys[node.Id] = weight.Name.Substring(0, weight.Name.Length - ".weight".Length) + InputSuffix;
            }
            var half = KeepList.Match(graph, graph.KeepHalfInInt8, n => keys[n.Id] is not null, DiagnosticDescriptors.Int8KeepEntryUnmatched, errors);
            for (int i = 0; i < keys.Length; i++)
                if (half[i]) keys[i] = null;
            return keys;
        }

        /// <summary>
        /// The Linears of <paramref name="int8Keys"/> the Fp8 plan quantizes: those cuBLASLt's FP8 product takes (K a multiple of 16, N
        /// of 8); the others stay fp16 there.
        /// </summary>
        public static string?[] Fp8(ModelGraph graph, string?[] int8Keys)
        {
            var keys = new string?[int8Keys.Length];
            for (int i = 0; i < keys.Length; i++)
            {
                if (int8Keys[i] is null) continue;
                var weight = graph.Nodes[graph.Nodes[i].Inputs[1]].Shape;
                if (weight.Count == 2 && weight[0].Value % 8 == 0 && weight[1].Value % 16 == 0) keys[i] = int8Keys[i];
            }
            return keys;
        }

        /// <summary>
        /// The key of the layer parameter a weight is computed from, or null: followed through load-time operators on the first
        /// operand (a re-layout, a folded batch norm or layer scale, whose other operands are parameters too).
        /// </summary>
        public static string? LayerWeight(ModelGraph graph, int id) => LayerWeightNode(graph, id, ParameterOnly.Of(graph.Nodes))?.Name;

        private static Node? LayerWeightNode(ModelGraph graph, int id, bool[] parameterOnly)
        {
            var node = graph.Nodes[id];
            while (!node.Is(Ops.Param))
            {
                if (node.IsSource || node.Inputs.Count == 0 || !node.Inputs.Skip(1).All(i => parameterOnly[i])) return null;
                node = graph.Nodes[node.Inputs[0]];
            }
            return node;
        }
    }
}
