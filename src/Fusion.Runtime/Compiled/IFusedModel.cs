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

    /// <summary>
    /// The activation scales the <see cref="Precision.Int8"/> plan reads (one per int8 Linear's input), to be loaded from a scale
    /// file before an Int8 run; null for a model without an Int8 plan (hand-written models).
    /// </summary>
    Quantization.ActivationScales? Int8Scales => null;

    /// <summary>The model's kernels: generated from the loop IR, GEMMs with generated epilogues, specialized templates.</summary>
    IReadOnlyList<IKernel> Kernels { get; }

    /// <summary>
    /// Runs the compiled forward pass with inputs in declaration order; the caller owns the result. The precision
    /// follows the inputs' dtype: f16 inputs run the <see cref="Precision.Half"/> plan, f32 inputs the
    /// <see cref="Precision.Float"/> plan; the output has the inputs' dtype.
    /// </summary>
    Tensor Run(IReadOnlyList<Tensor> inputs, IBackend? backend = null);

    /// <summary>
    /// Runs the plan for <paramref name="precision"/> whatever the inputs' float type (all inputs share one); the output
    /// has the inputs' dtype. <see cref="ModelSession"/> wraps this with a fixed choice.
    /// </summary>
    /// <remarks>Generated models implement it; the default serves hand-written models, which only run in the precision their inputs imply.</remarks>
    Tensor Run(IReadOnlyList<Tensor> inputs, IBackend? backend, Precision precision)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var implied = inputs.Count > 0 && inputs[0]?.DType == DType.Float16 ? Precision.Half : Precision.Float;
        if (precision != implied)
            throw new FusionException($"{Info.Name} runs only in the precision its inputs' dtype implies ({implied}), not {precision}");
        return Run(inputs, backend);
    }
}
