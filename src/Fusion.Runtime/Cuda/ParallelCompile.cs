using System.Runtime.ExceptionServices;

namespace Fusion.Cuda;

/// <summary>Compiling many kernels at once (NVRTC, ILGPU), where a failure should read as the failing kernel's own error.</summary>
internal static class ParallelCompile
{
    /// <summary>
    /// <paramref name="body"/> for every item, in parallel; a failure is rethrown as the first failing item's own exception (an NVRTC
    /// error with its log and line, ILGPU's message naming the kernel), not wrapped in an AggregateException.
    /// </summary>
    public static void ForEach<T>(IEnumerable<T> items, Action<T> body)
    {
        try
        {
            Parallel.ForEach(items, body);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
            throw;
        }
    }
}
