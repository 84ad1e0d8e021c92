using Fusion.Cuda.Fused;
using Fusion.Testing;

namespace Fusion.Cuda.Tests;

/// <summary>
/// The fused MLP kernel (fused_mlp.cu through <see cref="FusedMlp"/>) against the two GEMMs it replaces run on the CPU backend
/// (<see cref="MlpCase"/>: fresh random operands, the hidden values rounded to fp16 as stored, GELU by erf or in the tanh form as the
/// up GEMM says), row counts that fill no tile or wave evenly. Tolerance per output element: 2e-3 + 1e-2·|reference| (fp16 outputs are 2⁻¹¹ relative; a hidden value whose float32 sum
/// lands on the other side of an fp16 rounding boundary moves by one ulp, carried into the output through 384 weights of about 0.05;
/// the GPU's erf (Abramowitz &amp; Stegun) and tanh.approx against the CPU's exact functions).
/// </summary>
public sealed class FusedMlpGpuTests : GpuTestBase
{
    [Theory]
    [InlineData(1, false)]
    [InlineData(63, false)]
    [InlineData(1000, false)]       // 16 tiles, fewer than the SMs: two warpgroups a block
    [InlineData(25_088 + 37, false)] // batch 8 of Swin-T's first stage and a partial tile: three warpgroups a block
    [InlineData(3136, true)]
    [InlineData(25_088 + 37, true)]
    public void TheFusedMlpMatchesTheTwoGemms(int rows, bool tanhGelu)
    {
        RequireHopper();
        int seed = Fusion.Testing.TestData.NewSeed();
        using var mlp = new MlpCase(Device, seed, rows, FusedMlp.Channels, FusedMlp.Hidden, tanhGelu);
        Assert.Null(FusedMlp.WhyNot(mlp.Up, mlp.Down, Device, DType.Float16, mlp.X, mlp.W1, mlp.W2, [mlp.B1], mlp.GpuDownInputs));
        using var output = mlp.NewOutput();
        new FusedMlp(Jit).Run(mlp.X, mlp.W1, mlp.B1, mlp.W2, mlp.B2, mlp.Residual, output, tanhGelu, mlp.X.Stream);
        using var gpu = output.ToHost();
        KernelChecks.AssertClose(gpu, mlp.Reference, new Tol(2e-3, 1e-2), $"the fused MLP, {rows} rows (seed {seed})");
    }

    /// <summary>The fused kernel refuses what it was not written for, by reason; the backend then runs the two GEMMs.</summary>
    [Fact]
    public void OtherShapesAndEpiloguesAreRefusedWithAReason()
    {
        RequireHopper();
        var up = GemmKernels.Linear(FusedMlp.Hidden, FusedMlp.Channels, bias: true, Activation.Gelu, residual: false);
        var down = GemmKernels.Linear(FusedMlp.Channels, FusedMlp.Hidden, bias: true, Activation.None, residual: true);
        var relu = GemmKernels.Linear(FusedMlp.Hidden, FusedMlp.Channels, bias: true, Activation.Relu, residual: false);
        var wide = GemmKernels.Linear(2 * FusedMlp.Hidden, 2 * FusedMlp.Channels, bias: true, Activation.Gelu, residual: false);
        var noResidual = GemmKernels.Linear(FusedMlp.Channels, FusedMlp.Hidden, bias: true, Activation.None, residual: false);
        using var x = CudaTensor.Empty(Device.DefaultStream, DType.Float16, new Shape(5, FusedMlp.Channels));
        using var x32 = CudaTensor.Empty(Device.DefaultStream, DType.Float32, new Shape(5, FusedMlp.Channels));
        using var w1 = CudaTensor.Empty(Device.DefaultStream, DType.Float16, new Shape(FusedMlp.Hidden, FusedMlp.Channels));
        using var w2 = CudaTensor.Empty(Device.DefaultStream, DType.Float16, new Shape(FusedMlp.Channels, FusedMlp.Hidden));
        using var b1 = CudaTensor.Empty(Device.DefaultStream, DType.Float16, new Shape(FusedMlp.Hidden));
        using var b2 = CudaTensor.Empty(Device.DefaultStream, DType.Float16, new Shape(FusedMlp.Channels));
        var downs = MlpCase.DownInputs(down, b2, x);
        Assert.Null(FusedMlp.WhyNot(up, down, Device, DType.Float16, x, w1, w2, [b1], downs));
        Assert.Contains("not bias + GELU", FusedMlp.WhyNot(relu, down, Device, DType.Float16, x, w1, w2, [b1], downs));
        Assert.Contains("features", FusedMlp.WhyNot(wide, down, Device, DType.Float16, x, w1, w2, [b1], downs));
        Assert.Contains("fp16", FusedMlp.WhyNot(up, down, Device, DType.Float16, x32, w1, w2, [b1], downs));
        Assert.Contains("not bias + a residual", FusedMlp.WhyNot(up, noResidual, Device, DType.Float16, x, w1, w2, [b1], [b2]));
    }

    private void RequireHopper()
    {
        if (Device.ComputeCapability != 90)
            VisibleSkip.Because("no Hopper GPU", $"{Device.Name} is {Device.Architecture}", "the fused MLP kernel is sm_90a code: run on compute capability 9.0");
    }
}
