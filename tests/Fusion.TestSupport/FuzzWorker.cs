using System.Collections.Concurrent;

namespace Fusion.Testing;

/// <summary>
/// One background thread that runs the reader: the caller can stop waiting for a hung input (the thread is
/// abandoned, as a background thread it does not keep the process alive), and allocations are counted on it alone.
/// </summary>
internal sealed class FuzzWorker : IDisposable
{
    private readonly BlockingCollection<Action> _work = [];

    public FuzzWorker(string name)
    {
        var thread = new Thread(() =>
        {
            foreach (var item in _work.GetConsumingEnumerable()) item();
        }) { IsBackground = true, Name = name };
        thread.Start();
    }

    /// <summary>Queues <paramref name="function"/> on the worker thread.</summary>
    public Task<T> Run<T>(Func<T> function)
    {
        var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Add(() =>
        {
            try { result.SetResult(function()); }
            catch (Exception e) { result.SetException(e); }
        });
        return result.Task;
    }

    /// <summary>Lets the thread end after its current item; the collection is not disposed under it.</summary>
    public void Dispose() => _work.CompleteAdding();
}
