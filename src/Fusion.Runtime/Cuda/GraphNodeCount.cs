using Fusion.Cuda.Native;

namespace Fusion.Cuda;

/// <summary>
/// What a captured CUDA graph holds, by kind of node: its kernels (Fusion's and the libraries' alike: cuBLASLt's kernels are nodes
/// of the capture too), copies, memsets, event records (the graph profile's timing points) and anything else. The kernel count of a
/// model's pass as the GPU runs it, which a plan's call count only approximates (a call may launch several kernels).
/// </summary>
public readonly record struct GraphNodeCount(int Kernels, int Copies, int Memsets, int EventRecords, int Other)
{
    /// <summary>The count of nodes of the given kinds.</summary>
    internal static GraphNodeCount Of(IEnumerable<CuGraphNodeType> kinds)
    {
        int kernels = 0, copies = 0, memsets = 0, events = 0, other = 0;
        foreach (var kind in kinds)
        {
            switch (kind)
            {
                case CuGraphNodeType.Kernel: kernels++; break;
                case CuGraphNodeType.Memcpy: copies++; break;
                case CuGraphNodeType.Memset: memsets++; break;
                case CuGraphNodeType.EventRecord: events++; break;
                default: other++; break;
            }
        }
        return new GraphNodeCount(kernels, copies, memsets, events, other);
    }

    /// <summary>Every node of <paramref name="graph"/> (a CUgraph, before instantiation), counted by kind.</summary>
    internal static unsafe GraphNodeCount Of(IntPtr graph)
    {
        nuint count = 0;
        CudaCheck.Driver(CuDriverApi.cuGraphGetNodes(graph, null, ref count), "cuGraphGetNodes");
        var nodes = new IntPtr[(int)count];
        fixed (IntPtr* at = nodes)
            CudaCheck.Driver(CuDriverApi.cuGraphGetNodes(graph, at, ref count), "cuGraphGetNodes");
        var kinds = new CuGraphNodeType[(int)count];
        for (int i = 0; i < kinds.Length; i++)
            CudaCheck.Driver(CuDriverApi.cuGraphNodeGetType(nodes[i], out kinds[i]), "cuGraphNodeGetType");
        return Of(kinds);
    }

    /// <summary>"83 kernels, 2 memsets" (the kinds present; event records only where the graph has them).</summary>
    public override string ToString()
    {
        var parts = new List<string> { Counted(Kernels, "kernel", "kernels") };
        foreach (var (n, one, many) in new[] { (Copies, "copy", "copies"), (Memsets, "memset", "memsets"), (EventRecords, "event record", "event records"), (Other, "other node", "other nodes") })
            if (n > 0) parts.Add(Counted(n, one, many));
        return string.Join(", ", parts);

        static string Counted(int n, string one, string many) => $"{n} {(n == 1 ? one : many)}";
    }
}
