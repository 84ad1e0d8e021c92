namespace Fusion.Runtime.Tests;

/// <summary>Owns the tensors of a multi-step test computation and disposes them together, so chains of operators need no using per step.</summary>
internal sealed class TensorScope : IDisposable
{
    private readonly List<Tensor> _tensors = [];

    public T Add<T>(T tensor)
        where T : Tensor
    {
        _tensors.Add(tensor);
        return tensor;
    }

    public void Dispose()
    {
        foreach (var t in _tensors) t.Dispose();
        _tensors.Clear();
    }
}
