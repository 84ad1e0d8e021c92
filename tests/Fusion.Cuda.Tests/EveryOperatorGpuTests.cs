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
        var expected = CpuBackend.Instance.Run(kernel, batch, io, [.. inputs]);
        var devices = inputs.Select(cuda.FromHost).ToArray();
        Tensor[] actual = [];
        try
        {
            var poisoned = KernelChecks.PoisonNextAllocations(Device, expected.Select(e => (e.Shape, e.DType)));
            actual = cuda.Run(kernel, batch, io, devices);
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < actual.Length; i++)
            {
                Assert.True(poisoned.Contains(((CudaTensor)actual[i]).Pointer), $"{what}: output {i} did not get a NaN-filled block");
                using var back = cuda.ToHost(actual[i]);
                var tol = KernelChecks.ForOutput(back.DType);
                if (transcendental && back.DType == DType.Float32) tol = tol with { Rtol = tol.Rtol + 2e-5 };
                AssertCloseAllowingMatchedNonFinite(back, (CpuTensor)expected[i], tol, $"{what} output {i} ({kernel.Name}, batch {batch}, io {io.ShortName()})");
            }
        }
        finally
        {
            foreach (var t in actual) t.Dispose();
            foreach (var t in devices) t.Dispose();
            foreach (var t in expected) t.Dispose();
            KernelChecks.DisposeAll(inputs);
        }
    }

    /// <summary>Within <paramref name="tol"/> where the CPU's value is finite; the very same NaN or infinity where it is not.</summary>
    private static void AssertCloseAllowingMatchedNonFinite(CpuTensor actual, CpuTensor expected, Tol tol, string what)
    {
        Assert.True(expected.DType == actual.DType && expected.Shape == actual.Shape, $"{what}: {actual.DType.ShortName()}{actual.Shape}, expected {expected.DType.ShortName()}{expected.Shape}");
        var a = RefTensor.FromCpu(actual).Data;
        var e = RefTensor.FromCpu(expected).Data;
        for (int i = 0; i < e.Length; i++)
        {
            bool ok = double.IsFinite(e[i])
                ? double.IsFinite(a[i]) && Math.Abs(a[i] - e[i]) <= tol.Atol + tol.Rtol * Math.Abs(e[i])
                : double.IsNaN(e[i]) ? double.IsNaN(a[i]) : a[i] == e[i];
            Assert.True(ok, $"{what}: element {i} is {a[i]:R}, the CPU has {e[i]:R} (tolerance {tol})");
        }
    }
}
