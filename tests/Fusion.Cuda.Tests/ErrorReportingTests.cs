using Fusion.Cuda.Native;
using Fusion.Devices;

namespace Fusion.Cuda.Tests;

/// <summary>Error messages that must name the thing at fault; none of these needs a GPU.</summary>
public sealed class ErrorReportingTests
{
    [Fact]
    public void MissingLibraryNamesLibraryAndPathsTried()
    {
        var e = new CudaLibraryNotFoundException("nvrtc", ["libnvrtc.so.13", "/usr/local/cuda/lib64/libnvrtc.so.13"]);
        Assert.Contains("'nvrtc'", e.Message);
        Assert.Contains("/usr/local/cuda/lib64/libnvrtc.so.13", e.Message);
    }

    [Fact]
    public void SearchCoversVersionedNamesAndUsualFolders()
    {
        var paths = CudaLibraryResolver.CandidatePaths(["libnvrtc.so.13", "libnvrtc.so.12"]).ToList();
        Assert.Contains("libnvrtc.so.12", paths);
        Assert.Contains("/usr/local/cuda/lib64/libnvrtc.so.13", paths);
    }

    [Fact]
    public void ProbeExplainsWhyCudaIsUnavailable()
    {
        var a = CudaAvailability.Probe();
        if (a.IsAvailable) return; // the GPU tests cover this machine
        Assert.False(string.IsNullOrWhiteSpace(a.Reason));
        if (a.Reason.Contains("could not be loaded")) Assert.Contains("/usr/local/cuda/lib64", a.Reason);
    }

    [Fact]
    public void OutOfMemoryReportsRequestedAndFree()
    {
        var e = new CudaOutOfMemoryException(3L << 30, 1L << 30, 80L << 30, 0);
        Assert.Contains("requested 3072.0 MiB", e.Message);
        Assert.Contains("free 1024.0 MiB", e.Message);
    }

    [Fact]
    public void StickyErrorsMarkTheDeviceLost()
    {
        Assert.True(CudaCheck.IsSticky(CuResult.IllegalAddress));
        Assert.False(CudaCheck.IsSticky(CuResult.OutOfMemory));
        var lost = new CudaDeviceLostException("CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered", "cuStreamSynchronize", 700);
        Assert.Contains("restart the process", lost.Message);
        Assert.Contains("cuStreamSynchronize", lost.Message);
    }

    [Fact]
    public void NvrtcLogIsParsedToTheOffendingLine()
    {
        const string source = "#include \"prelude.cuh\"\nextern \"C\" __global__ void k(float* p)\n{\n    p[0] = undefined_thing;\n}\n";
        const string log = "broken.cu(4): error: identifier \"undefined_thing\" is undefined\n\n1 error detected in the compilation of \"broken.cu\".\n";
        var e = Nvrtc.CompileError("broken", source, log);
        Assert.Equal(4, e.Line);
        Assert.Contains("p[0] = undefined_thing;", e.Message);
        Assert.Contains("'broken'", e.Message);
        Assert.Contains("identifier \"undefined_thing\" is undefined", e.Message);
    }
}
