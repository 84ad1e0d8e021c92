namespace Fusion;

/// <summary>
/// Owns the tensors that eager <see cref="F"/> calls return on this thread while it is open, and disposes them when it
/// closes, all but the ones kept. An eager <c>Forward</c> is a chain of such calls whose intermediates nobody else holds,
/// so <c>using var y = EagerScope.Run(() =&gt; model.Forward(x));</c> leaves only y alive. Tensors made outside the scope
/// (the inputs, the backends' parameter copies) are never touched. Scopes nest: what an inner scope keeps becomes the
/// outer scope's, so close them in reverse order of opening.
/// </summary>
public sealed class EagerScope : IDisposable
{
    [ThreadStatic]
    private static EagerScope? t_current;

    private readonly EagerScope? _outer;
    private readonly List<Tensor> _created = [];
    private readonly HashSet<Tensor> _kept = new(ReferenceEqualityComparer.Instance);
    private bool _closed;

    /// <summary>Opens a scope on this thread; F calls from now until <see cref="Dispose"/> are tracked.</summary>
    public EagerScope()
    {
        _outer = t_current;
        t_current = this;
    }

    /// <summary>Runs <paramref name="forward"/> in a scope of its own and returns its result, the one tensor left alive (the caller owns it).</summary>
    public static Tensor Run(Func<Tensor> forward)
    {
        ArgumentNullException.ThrowIfNull(forward);
        using var scope = new EagerScope();
        return scope.Keep(forward());
    }

    /// <summary>Excludes <paramref name="tensor"/> from what this scope disposes (it passes to the enclosing scope, if any).</summary>
    public T Keep<T>(T tensor)
        where T : Tensor
    {
        ArgumentNullException.ThrowIfNull(tensor);
        _kept.Add(tensor);
        return tensor;
    }

    /// <summary>Records a tensor an F call returned with the innermost open scope of this thread, if there is one.</summary>
    internal static T Track<T>(T tensor)
        where T : Tensor
    {
        t_current?._created.Add(tensor);
        return tensor;
    }

    public void Dispose()
    {
        if (_closed) return;
        _closed = true;
        if (ReferenceEquals(t_current, this)) t_current = _outer;
        foreach (var tensor in _created)
        {
            // A kept result is still an intermediate of the enclosing scope (a sub-module's output inside a model's Forward).
            if (_kept.Contains(tensor)) _outer?._created.Add(tensor);
            else tensor.Dispose(); // idempotent: a Forward that disposed its own temporaries is fine
        }
        _created.Clear();
    }
}
