namespace Fusion;

/// <summary>
/// Implemented by the generated half of every [FusedModel] class, so tools can drive any model
/// without knowing its type.
/// </summary>
public interface IFusedModel
{
    ModelInfo Info { get; }

    /// <summary>Every parameter with its state-dict key, in declaration order.</summary>
    IEnumerable<NamedParameter> NamedParameters();

    /// <summary>The generated kernels of the model's fused groups.</summary>
    IReadOnlyList<FusedKernel> FusedKernels { get; }

    /// <summary>Runs the compiled forward pass with inputs in declaration order; the caller owns the result.</summary>
    Tensor Run(IReadOnlyList<Tensor> inputs, IBackend? backend = null);
}
