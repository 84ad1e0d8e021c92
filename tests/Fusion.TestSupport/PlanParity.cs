namespace Fusion.Testing;

/// <summary>One compiled model run on the GPU and on the CPU under each of several plans, compared element by element.</summary>
public static class PlanParity
{
    /// <summary>
    /// Runs <paramref name="model"/> on <paramref name="input"/> with <paramref name="cuda"/> and with the CPU backend for each
    /// (precision, atol, rtol) of <paramref name="plans"/> and asserts the GPU's output within atol + rtol·|cpu| of the CPU's;
    /// <paramref name="what"/> names the case in a failure.
    /// </summary>
    public static void CudaMatchesCpu(IFusedModel model, CudaBackend cuda, CpuTensor input, string what, params (Precision Precision, double Atol, double Rtol)[] plans)
    {
        foreach (var (precision, atol, rtol) in plans)
        {
            using var cpu = new ModelSession(model, new SessionOptions(CpuBackend.Instance, precision)).Run(input);
            using var onDevice = cuda.FromHost(input);
            using var output = new ModelSession(model, new SessionOptions(cuda, precision)).Run(onDevice);
            using var back = cuda.ToHost(output);
            Tolerance.AssertClose(back, RefTensor.FromCpu((CpuTensor)cpu), atol, rtol, $"{what}, {precision} on CUDA vs CPU");
        }
    }
}
