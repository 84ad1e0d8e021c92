using Fusion.Cuda;

namespace Fusion.Run;

/// <summary>Device time of one forward pass: an event recorded on the device's default stream before it and one after.</summary>
internal sealed class PassTimer(CudaBackend backend) : IDisposable
{
    private readonly CudaEvent _start = new(backend.CudaDevice);
    private readonly CudaEvent _end = new(backend.CudaDevice);

    public void Start() => _start.Record(backend.CudaDevice.DefaultStream);

    public void Stop() => _end.Record(backend.CudaDevice.DefaultStream);

    /// <summary>Waits for the stream and returns the milliseconds between the two events.</summary>
    public double Wait()
    {
        backend.Synchronize();
        return CudaEvent.ElapsedMilliseconds(_start, _end);
    }

    public void Dispose()
    {
        _start.Dispose();
        _end.Dispose();
    }
}
