namespace Fusion;

/// <summary>
/// Checks a compiled model's inputs against their declared shapes before anything runs, and
/// works out the batch size. Used by generated code; every error names the model and the input.
/// </summary>
public sealed class InputCheck
{
    private readonly ModelInfo _model;
    private int _index;
    private string? _batchFrom;

    public InputCheck(ModelInfo model) => _model = model;

    /// <summary>The batch size (1 when no input has a batch dimension).</summary>
    public int Batch { get; private set; } = 1;

    /// <summary>The float type all inputs share; the model computes in it.</summary>
    public DType DType { get; private set; } = DType.Float32;

    /// <summary>Checks the next input in declaration order.</summary>
    public void Add(string name, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor, name);
        tensor.ThrowIfDisposed();
        var declared = _model.Inputs[_index].Dims;
        string what = $"input '{name}' of {_model.Name}";
        string expected = _model.Inputs[_index].Describe() + " (N = batch)";

        if (tensor.DType is not (DType.Float32 or DType.Float16))
            throw new TensorMismatchException(what, "dtype f32 or f16", tensor.DType.ShortName());
        if (_index > 0 && tensor.DType != DType)
            throw new TensorMismatchException(what, $"dtype {DType.ShortName()} like the first input", tensor.DType.ShortName());
        if (tensor.Rank != declared.Length)
            throw new TensorMismatchException(what, expected, tensor.Shape.ToString());

        for (int i = 0; i < declared.Length; i++)
        {
            int actual = tensor.Shape[i];
            if (declared[i] != Dim.Batch)
            {
                if (actual != declared[i]) throw new TensorMismatchException(what, expected, tensor.Shape.ToString());
                continue;
            }
            if (actual <= 0) throw new TensorMismatchException(what, expected + " with N ≥ 1", tensor.Shape.ToString());
            if (_batchFrom is not null && actual != Batch)
                throw new TensorMismatchException(what, $"batch {Batch} like input '{_batchFrom}'", actual.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Batch = actual;
            _batchFrom = name;
        }
        DType = tensor.DType;
        _index++;
    }

    /// <summary>Checks the number of inputs given to <see cref="IFusedModel.Run"/>.</summary>
    public static void Count(ModelInfo model, int given)
    {
        if (given != model.Inputs.Count)
            throw new TensorMismatchException($"inputs of {model.Name}", $"{model.Inputs.Count} tensors ({string.Join(", ", model.Inputs.Select(i => i.Name))})", given.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
