using System.Collections.Generic;
using System.Linq;
using Fusion.Compiler;
using Fusion.Generator.Ir;
using Fusion.Generator.Model;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// The template patterns: finds operator chains a hand-written kernel template implements as a whole (Swin's window
    /// attention, scaled dot-product attention) and replaces each by one node carrying its specialized kernel. A group is only fused when every value
    /// inside it has no other reader; candidates that fail a guard stay unfused and the report says why. Everything else
    /// (pointwise, layout and reduction chains, GEMM epilogues) is fused later by the <see cref="Scheduler"/> into kernels
    /// generated from the loop IR.
    /// </summary>
    internal static class FusionPass
    {
        public static ModelGraph Run(ModelGraph graph)
        {
            if (graph.HasErrors || graph.Output < 0 || graph.Nodes.Count == 0) return graph;
            var rewriter = new GraphRewriter(graph);
            // Swin's window attention first (its kernel is specialized for small windows, masks and the (heads, 3, d) re-layout),
            // then attention in general, whose reason a softmax neither takes is reported with (it covers every form of the other).
            foreach (var softmax in rewriter.Nodes.Where(n => n.Is(Ops.Softmax)).ToList())
            {
                if (WindowAttentionPattern.TryFuse(rewriter, softmax) is null) continue;
                if (AttentionPattern.TryFuseChain(rewriter, softmax) is { } why) rewriter.Reject(softmax, AttentionPattern.Pattern, why);
            }
            foreach (var attention in rewriter.Nodes.Where(n => n.Is(Ops.Attention) && n.Kernel is null).ToList())
                AttentionPattern.FuseExplicit(rewriter, attention);
            return rewriter.Finish();
        }
    }

    /// <summary>Shared state of the fusion patterns: the graph, who reads what, which nodes a group has claimed.</summary>
    internal sealed class GraphRewriter
    {
        private readonly ModelGraph _graph;
        private readonly List<Node> _nodes;
        private readonly List<List<int>> _readers;
        private readonly List<bool> _claimed;
        private readonly List<FusionDecision> _decisions = new();

        public GraphRewriter(ModelGraph graph)
        {
            _graph = graph;
            _nodes = graph.Nodes.ToList();
            _readers = ReaderLists.Of(_nodes);
            _claimed = _nodes.Select(_ => false).ToList();
        }

        public IReadOnlyList<Node> Nodes => _nodes;

        public Node this[int id] => _nodes[id];

        public Node Input(Node node, int index) => _nodes[node.Inputs[index]];

        /// <summary>Read by exactly one node and not the model's output, so it can live in registers.</summary>
        public bool SingleReader(int id) => _readers[id].Count == 1 && id != _graph.Output;

        public IReadOnlyList<int> Readers(int id) => _readers[id];

        public bool IsFree(int id) => !_claimed[id];

        /// <summary>Describes why <paramref name="id"/> cannot stay inside a group.</summary>
        public string WhyShared(int id) => id == _graph.Output
            ? $"'{_nodes[id].Source}' is the model's output"
            : $"'{_nodes[id].Source}' is also read by {string.Join(", ", _readers[id].Select(r => "'" + _nodes[r].Source + "'"))}";

        /// <summary>Replaces <paramref name="anchor"/> (the group's last node, whose readers now read the fused node) and claims <paramref name="absorbed"/>.</summary>
        public void Fuse(Node anchor, OpDescriptor op, IEnumerable<int> inputs, AttributeSet attributes, KernelSpec kernel, IEnumerable<int> absorbed)
        {
            var members = absorbed.Concat(new[] { anchor.Id }).Distinct().OrderBy(i => i).ToList();
            foreach (var id in members) _claimed[id] = true;
            var from = members.Select(i => (i == anchor.Id ? anchor.Op : _nodes[i].Op)).ToEquatableArray();
            _nodes[anchor.Id] = anchor with
            {
                FusedFrom = from,
                Op = op.Name,
                Inputs = inputs.ToEquatableArray(),
                Attributes = attributes,
                Name = kernel.Name,
                Kernel = kernel,
            };
            _decisions.Add(new FusionDecision(true, kernel.Pattern, kernel.Name,
                members.Select(i => i == anchor.Id ? anchor.Source : _nodes[i].Source).ToEquatableArray(), "", anchor.Scope, anchor.Location));
        }

        public void Reject(Node at, string pattern, string reason) =>
            _decisions.Add(new FusionDecision(false, pattern, "", EquatableArray.Of(at.Source), reason, at.Scope, at.Location));

        /// <summary>
        /// Appends a node computed from <paramref name="inputs"/> (e.g. a load-time re-layout of a parameter) and
        /// returns its id; <see cref="Finish"/> restores topological order.
        /// </summary>
        public int AddNode(OpDescriptor op, IEnumerable<int> inputs, AttributeSet attributes, EquatableArray<Dim> shape, string source, Node near)
        {
            int id = _nodes.Count;
            var node = new Node(id, op.Name, inputs.ToEquatableArray(), attributes, "", source, near.Scope, near.Location) { Shape = shape };
            _nodes.Add(node);
            _readers.Add(new List<int>());
            _claimed.Add(true);
            ReaderLists.Add(_readers, node);
            return id;
        }

        /// <summary>Points input <paramref name="index"/> of <paramref name="node"/> at <paramref name="source"/> instead.</summary>
        public void Rewire(Node node, int index, int source)
        {
            var inputs = _nodes[node.Id].Inputs.ToArray();
            _readers[inputs[index]].Remove(node.Id);
            inputs[index] = source;
            _readers[source].Add(node.Id);
            _nodes[node.Id] = _nodes[node.Id] with { Inputs = inputs.ToEquatableArray() };
        }

        /// <summary>The rewritten graph: fused nodes in place, absorbed nodes dropped, ids renumbered in topological order.</summary>
        public ModelGraph Finish()
        {
            int output = _graph.Output;
            var nodes = GraphPruning.Compact(_nodes, GraphPruning.Live(_nodes, output), ref output);
            return _graph with
            {
                Nodes = nodes.ToEquatableArray(),
                Output = output,
                Decisions = _decisions.ToEquatableArray(),
            };
        }

        public static KernelSpec Spec(string name, string pattern, params (string Key, int Value)[] constants) =>
            new(name, pattern, constants.OrderBy(c => c.Key, System.StringComparer.Ordinal).Select(c => new KernelConstant(c.Key, c.Value)).ToEquatableArray());

        public static long[] Dims(Node node) => node.Shape.Select(d => d.Dynamic ? -1 : d.Value).ToArray();
    }
}
