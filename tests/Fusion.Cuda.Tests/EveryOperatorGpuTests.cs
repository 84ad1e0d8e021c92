using Fusion.Compiler;
using Fusion.Runtime.Tests.Compiler;
using Fusion.Testing;

namespace Fusion.Cuda.Tests;

/// <summary>
/// Every lowerable operator on its own (the kernel the eager path builds, Fusion.Runtime.Tests' <see cref="SingleOpKernels"/>) and
/// every hand-built fused group (<see cref="FusedGroups"/>: Swin's, reductions over middle and strided axes, views that select
/// between pieces), printed to CUDA C, run on the GPU and compared with the CPU interpreter of the same loop IR, at batch 1 and 3,
/// with the run's type f32 and f16. Shapes are odd (5, 7, 13 wide), so scalar and vector paths both run.
/// Tolerances: <see cref="KernelChecks.Half"/> for f16 outputs, <see cref="KernelChecks.Float"/> for f32 ones, plus 2e-5·|cpu| for the
/// transcendental operators (the GPU's ex2/lg2 approximations are within a few float32 ulp, Pow amplifies them by |y·log x|);
/// non-finite values (a pad of NaN, a fill of −∞) must sit where the CPU has the same value. Outputs start as NaN.
/// </summary>
public sealed class EveryOperatorGpuTests(GemmKernelFolder folder) : GpuTestBase, IClassFixture<GemmKernelFolder>
{
    private static readonly int[] s_batches = [1, 3];

    /// <summary>Operators defined for positive inputs only get inputs in [0.05, 2).</summary>
    private static readonly HashSet<string> s_positive = ["Log", "Sqrt", "Rsqrt", "Pow"];

    private static readonly HashSet<string> s_transcendental = ["Exp", "Log", "Tanh", "Pow", "Gelu", "GeluTanh", "Sigmoid", "Silu", "Softmax", "Rsqrt", "LayerNorm", "RmsNorm"];

    public static TheoryData<int, int, DType> SingleOperatorRuns()
    {
        var data = new TheoryData<int, int, DType>();
        for (int i = 0; i < SingleOpKernels.Cases.Count; i++)
            foreach (int batch in s_batches)
                foreach (var io in new[] { DType.Float32, DType.Float16 })
                    data.Add(i, batch, io);
        return data;
    }

    [Theory]
    [MemberData(nameof(SingleOperatorRuns))]
    public void OperatorKernelMatchesTheCpu(int index, int batch, DType io)
    {
        string op = SingleOpKernels.Cases[index].Op;
        var kernel = GeneratedKernel.From(SingleOpKernels.Lower(index).Kernel);
        Run(kernel, batch, io, $"{op} (case {index})", (i, _) => i == 0 && s_positive.Contains(op) ? (0.05, 2) : (-1, 1), s_transcendental.Contains(op));
    }

    public static TheoryData<string, int, DType> GroupRuns()
    {
        var data = new TheoryData<string, int, DType>();
        foreach (var name in FusedGroups.All.Keys)
            foreach (int batch in s_batches)
                foreach (var io in new[] { DType.Float32, DType.Float16 })
                    data.Add(name, batch, io);
        return data;
    }

    [Theory]
    [MemberData(nameof(GroupRuns))]
    public void FusedGroupMatchesTheCpu(string name, int batch, DType io)
    {
        var kernel = GeneratedKernel.From(FusedGroups.Get(name).Lower().Kernel);
        Run(kernel, batch, io, name, null, transcendental: true);
    }

    private void Run(GeneratedKernel kernel, int batch, DType io, string what, Func<int, KernelBuffer, (double Low, double High)>? range, bool transcendental)
    {
        using var cuda = new CudaBackend(Device, new KernelCache(folder.Path));
        var inputs = KernelChecks.RandomInputs(kernel, batch, io, Rng.Next(), range);
        Tol Tolerance(DType output)
        {
            var tol = KernelChecks.ForOutput(output);
            return transcendental && output == DType.Float32 ? tol with { Rtol = tol.Rtol + 2e-5 } : tol;
        }
        KernelChecks.GpuMatchesCpu(cuda, kernel, batch, io, inputs, what, Tolerance, matchNonFinite: true);
        KernelChecks.DisposeAll(inputs);
    }
}
