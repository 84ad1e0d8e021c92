using Fusion.Cuda;
using Fusion.Cuda.Native;
using Fusion.Testing;

namespace Fusion.Runtime.Tests;

/// <summary>
/// A CUDA library that is not installed is one error naming it and every path tried, CUDA_PATH's folders included
/// (issue 17). Runs where the library is absent (CI, the development machine); skips visibly where it loads.
/// </summary>
public sealed class CudaLibraryMessageTests
{
    [Theory]
    [InlineData("cuda", "libcuda.so.1")]
    [InlineData("nvrtc", "libnvrtc.so.13")]
    [InlineData("cublasLt", "libcublasLt.so.13")]
    public void AMissingLibraryIsNamedWithEveryPathTried(string library, string soname)
    {
        var previous = Environment.GetEnvironmentVariable("CUDA_PATH");
        Environment.SetEnvironmentVariable("CUDA_PATH", "/nonexistent/fusion-cuda");
        try
        {
            if (CudaLibraryResolver.TryLoad(library, out _, out _))
                VisibleSkip.Because("the CUDA libraries are installed", $"{library} loads here", "run where it is absent to see the message");
            var e = Assert.Throws<CudaLibraryNotFoundException>(() => CudaLibraryResolver.Load(library));
            Assert.Equal(library, e.Library);
            Assert.StartsWith($"the CUDA library '{library}' could not be loaded; tried: {soname}, ", e.Message);
            Assert.Contains($"/nonexistent/fusion-cuda/lib64/{soname}", e.Tried);
            Assert.Contains($"/usr/local/cuda/lib64/{soname}", e.Tried);
            Assert.All(e.Tried, path => Assert.Contains(path, e.Message));
            Assert.EndsWith("or add their folder to LD_LIBRARY_PATH or CUDA_PATH.", e.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable("CUDA_PATH", previous);
        }
    }
}
