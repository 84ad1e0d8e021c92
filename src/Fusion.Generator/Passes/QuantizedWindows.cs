using System.Collections.Generic;
using System.Linq;
using Fusion.Compiler;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// Where a quantized convolution quantizes: before its windows, not after. A one-group convolution is a Linear over the im2col
    /// windows of its image (after the layout pass: Im2col of the permute to NCHW of a channels-last value). Quantizing the windows
    /// would store a k·k times larger matrix and force the gathered path; quantizing the image instead gives the same codes (a window
    /// only moves values, and its zero padding is code 0 in int8 and E4M3 alike), costs one pass over the image, fuses into the image's
    /// producer, and leaves the implicit-GEMM convolution its channels-last input — in int8 codes (<see cref="ConvGemm"/>: 16 channels a
    /// chunk). The precision pass skips the nodes <see cref="Find"/> marks and rebuilds the view over the quantized image.
    /// </summary>
    internal static class QuantizedWindows
    {
        /// <summary>
        /// For each node, whether it is a view the precision pass rebuilds over a quantized image instead of planning it: an Im2col
        /// read only by a Linear the plan quantizes (<paramref name="quantized"/> holds its scale key), as that Linear's x, and the
        /// Permute under such Im2cols when nothing else reads it (a strided convolution and its 1×1 shortcut often share one).
        /// </summary>
        public static bool[] Find(ModelGraph graph, IReadOnlyList<string?> quantized)
        {
            var nodes = graph.Nodes;
            var readers = ReaderLists.Of(nodes);
            var skip = new bool[nodes.Count];
            foreach (var linear in nodes)
            {
                if (quantized[linear.Id] is null) continue;
                var windows = nodes[linear.Inputs[0]];
                if (windows.Is(Ops.Im2col) && readers[windows.Id].Count == 1 && windows.Id != graph.Output && linear.Inputs[1] != windows.Id) skip[windows.Id] = true;
            }
            foreach (var windows in nodes)
            {
                if (!skip[windows.Id] || !windows.Is(Ops.Im2col)) continue;
                var image = nodes[windows.Inputs[0]];
                if (image.Is(Ops.Permute) && image.Id != graph.Output && readers[image.Id].All(r => skip[r])) skip[image.Id] = true;
            }
            return skip;
        }

        /// <summary>
        /// The value a quantized Linear over <paramref name="windows"/> (an Im2col <see cref="Find"/> marked) quantizes: the windows'
        /// image, or the value under the image's permute (<paramref name="permute"/>); the precision pass applies the permute and the
        /// windows to the codes.
        /// </summary>
        public static int Source(ModelGraph graph, Node windows, out Node? permute)
        {
            var image = graph.Nodes[windows.Inputs[0]];
            permute = image.Is(Ops.Permute) ? image : null;
            return permute is null ? image.Id : image.Inputs[0];
        }
    }
}
