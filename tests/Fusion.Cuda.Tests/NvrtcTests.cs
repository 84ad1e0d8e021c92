namespace Fusion.Cuda.Tests;

public sealed class NvrtcTests : GpuTestBase
{
    [Fact]
    public void CompileErrorReportsKernelNameLineAndLog()
    {
        const string source = "#include \"prelude.cuh\"\n\nextern \"C\" __global__ void broken(half* p)\n{\n    p[0] = float_to_half(not_declared * 2.0f);\n}\n";
        var e = Assert.Throws<NvrtcCompileException>(() => Jit.Load("broken_kernel", source));
        Assert.Equal("broken_kernel", e.KernelName);
        Assert.Equal(5, e.Line);
        Assert.Contains("not_declared", e.SourceLine);
        Assert.Contains("not_declared", e.Log);
        Assert.Contains("broken_kernel", e.Message);
    }

    [Fact]
    public void ShippedKernelCompilesToPtxAndCubin()
    {
        var ptx = Nvrtc.CompilePtx("bias_residual_half2", Kernels.KernelSources.Get("bias_residual_half2.cu"), "compute_90");
        Assert.Contains(".entry fusion_bias_residual_half2", ptx);
        var cubin = Nvrtc.CompileCubin("bias_residual_half2", Kernels.KernelSources.Get("bias_residual_half2.cu"), Device.Architecture);
        Assert.Equal("\u007fELF", System.Text.Encoding.ASCII.GetString(cubin, 0, 4));
    }
}
