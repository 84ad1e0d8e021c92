namespace Fusion.Cuda.Generated;

/// <summary>
/// The loop IR's accumulating stores (<see cref="Fusion.Compiler.StoreInstr.Accumulate"/>) add into float32 buffers that start at zero: every
/// launch of such a kernel clears them first, on the kernel's stream (a memset, which a CUDA graph captures with the kernel).
/// </summary>
internal static class AccumulatedOutputs
{
    /// <summary>Clears the accumulated buffers among <paramref name="buffers"/>, all of the kernel's buffers in IR order.</summary>
    public static void Clear(GeneratedKernel kernel, IReadOnlyList<CudaTensor> buffers, CudaStream stream)
    {
        foreach (var b in kernel.AccumulatedBuffers) buffers[b].FillBytes(0, stream);
    }

    /// <summary>Clears the accumulated buffers among <paramref name="outputs"/>, the kernel's output buffers alone (they come last in IR order).</summary>
    public static void ClearOutputs(GeneratedKernel kernel, IReadOnlyList<CudaTensor> outputs, CudaStream stream)
    {
        int first = kernel.Ir.Buffers.Count - outputs.Count;
        foreach (var b in kernel.AccumulatedBuffers) outputs[b - first].FillBytes(0, stream);
    }
}
