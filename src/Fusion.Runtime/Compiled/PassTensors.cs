using System.ComponentModel;

namespace Fusion;

/// <summary>
/// The tensors one pass of a compiled plan has made. Generated code frees each value right after its last reader; when
/// a step throws part-way (out of device memory, a kernel error), the pass calls <see cref="DisposeAll"/> so nothing it
/// made stays alive: the next pass starts from the same memory as the failed one did (tensors dispose idempotently, so
/// those already freed are skipped). Used by generated code only.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class PassTensors
{
    private readonly List<Tensor> _made = new(64);

    /// <summary>Records one step's result and returns it.</summary>
    public Tensor Own(Tensor tensor)
    {
        _made.Add(tensor);
        return tensor;
    }

    /// <summary>Records a step's results and returns them.</summary>
    public Tensor[] Own(Tensor[] tensors)
    {
        _made.AddRange(tensors);
        return tensors;
    }

    /// <summary>Frees everything the pass made (after a failure).</summary>
    public void DisposeAll()
    {
        foreach (var tensor in _made) tensor.Dispose();
        _made.Clear();
    }
}
