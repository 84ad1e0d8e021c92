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
        var parts = new List<string> { $"{Kernels} kernel{(Kernels == 1 ? "" : "s")}" };
        if (Copies > 0) parts.Add($"{Copies} cop{(Copies == 1 ? "y" : "ies")}");
        if (Memsets > 0) parts.Add($"{Memsets} memset{(Memsets == 1 ? "" : "s")}");
        if (EventRecords > 0) parts.Add($"{EventRecords} event record{(EventRecords == 1 ? "" : "s")}");
        if (Other > 0) parts.Add($"{Other} other node{(Other == 1 ? "" : "s")}");
        return string.Join(", ", parts);
    }
}
